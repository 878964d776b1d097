import "server-only";
import { randomBytes } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { members, organizations } from "@/db/schema";
import { notFound } from "@/server/errors";
import type { OrgRole } from "@/server/permissions";
import { defined } from "@/server/defined";

export function slugify(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return base || "org";
}

/** Creates the org and makes its creator the Owner, atomically. */
export async function createOrganization(db: DbOrTx, params: { userId: string; name: string }) {
  return db.transaction(async (tx) => {
    const base = slugify(params.name);
    // Claim the plain slug with ON CONFLICT rather than check-then-insert, so two orgs created with the
    // same name at the same moment do not fail on the unique slug: the later one gets a suffix.
    const [plain] = await tx
      .insert(organizations)
      .values({ name: params.name, slug: base })
      .onConflictDoNothing({ target: organizations.slug })
      .returning();
    const org = defined(
      plain ??
        (
          await tx
            .insert(organizations)
            .values({ name: params.name, slug: `${base}-${randomBytes(3).toString("hex")}` })
            .returning()
        )[0],
      "the created organization",
    );
    await tx.insert(members).values({ orgId: org.id, userId: params.userId, role: "owner" });
    return { ...org, role: "owner" as OrgRole };
  });
}

function organizationsOf(db: DbOrTx, userId: string, slug?: string) {
  return db
    .select({ id: organizations.id, name: organizations.name, slug: organizations.slug, role: members.role })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.orgId))
    .where(and(eq(members.userId, userId), slug === undefined ? undefined : eq(organizations.slug, slug)))
    .orderBy(asc(organizations.name));
}

export function listOrganizationsOf(db: DbOrTx, userId: string) {
  return organizationsOf(db, userId);
}

/** The org with that slug if the user belongs to it; NOT_FOUND otherwise. */
export async function getOrganizationBySlug(db: DbOrTx, params: { slug: string; userId: string }) {
  const [org] = await organizationsOf(db, params.userId, params.slug);
  if (!org) throw notFound("Organization");
  return org;
}
