import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { getDb } from "@/db/client";
import { OrgProvider } from "@/components/orgs/org-context";
import { OrgShell } from "@/components/orgs/org-shell";
import { AppError } from "@/server/errors";
import { requirePageUser } from "@/server/page-session";
import { getOrganizationBySlug, listOrganizationsOf } from "@/server/services/organizations";

export default async function OrgLayout({ children, params }: { children: ReactNode; params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const user = await requirePageUser(`/o/${slug}`);
  const db = getDb();
  const [org, orgs] = await Promise.all([
    getOrganizationBySlug(db, { slug, userId: user.id }).catch((error: unknown) => {
      if (error instanceof AppError && error.code === "NOT_FOUND") notFound();
      throw error;
    }),
    listOrganizationsOf(db, user.id),
  ]);
  return (
    <OrgProvider org={org}>
      <OrgShell org={org} orgs={orgs} user={user}>
        {children}
      </OrgShell>
    </OrgProvider>
  );
}
