/** Per-member access grants on a container, managed by Owners and Admins. */
import "server-only";
import { and, asc, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { containerAccess, members, users } from "@/db/schema";
import { AppError, notFound } from "@/server/errors";
import { containerLevel, type GrantLevel } from "@/server/permissions";

/** Every member of the org with their effective level on the container (null: no access). */
export async function listContainerAccess(db: DbOrTx, params: { orgId: string; containerId: string }) {
  const rows = await db
    .select({
      userId: users.id,
      name: users.name,
      email: users.email,
      role: members.role,
      grant: containerAccess.level,
    })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .leftJoin(
      containerAccess,
      and(eq(containerAccess.userId, members.userId), eq(containerAccess.containerId, params.containerId)),
    )
    .where(eq(members.orgId, params.orgId))
    .orderBy(asc(users.name), asc(users.email));
  return rows.map((r) => ({ ...r, level: containerLevel(r.role, r.grant) }));
}

export async function setContainerAccess(
  db: DbOrTx,
  params: { orgId: string; containerId: string; userId: string; level: GrantLevel | null },
) {
  const [member] = await db
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.orgId, params.orgId), eq(members.userId, params.userId)));
  if (!member) throw notFound("Member");
  if (member.role !== "member") {
    throw new AppError(
      "BAD_REQUEST",
      "Owners and Admins already manage every container; change their role instead.",
      "userId",
    );
  }
  if (params.level === null) {
    await db
      .delete(containerAccess)
      .where(and(eq(containerAccess.containerId, params.containerId), eq(containerAccess.userId, params.userId)));
    return;
  }
  await db
    .insert(containerAccess)
    .values({ containerId: params.containerId, userId: params.userId, level: params.level })
    .onConflictDoUpdate({
      target: [containerAccess.containerId, containerAccess.userId],
      set: { level: params.level },
    });
}
