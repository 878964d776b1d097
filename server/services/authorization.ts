/**
 * Resolves what a signed-in user may do in an org or on a container, from the permission table.
 * Anything the user cannot see answers NOT_FOUND with the same message whether it exists or not.
 */
import "server-only";
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { containerAccess, containers, members } from "@/db/schema";
import { AppError, notFound } from "@/server/errors";
import {
  containerLevel,
  levelAllows,
  roleCan,
  type ContainerLevel,
  type OrgPermission,
  type OrgRole,
} from "@/server/permissions";

export async function findRole(db: DbOrTx, orgId: string, userId: string): Promise<OrgRole | null> {
  const [row] = await db
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)));
  return row?.role ?? null;
}

export async function requireOrgPermission(
  db: DbOrTx,
  params: { orgId: string; userId: string; permission: OrgPermission },
): Promise<OrgRole> {
  const role = await findRole(db, params.orgId, params.userId);
  if (!role) throw notFound("Organization");
  if (!roleCan(role, params.permission)) {
    throw new AppError("FORBIDDEN", "Your role in this organization does not allow this.");
  }
  return role;
}

export interface ContainerScope {
  containerId: string;
  orgId: string;
  role: OrgRole;
  level: ContainerLevel;
}

export async function requireContainerLevel(
  db: DbOrTx,
  params: { containerId: string; userId: string; need: ContainerLevel },
): Promise<ContainerScope> {
  const [row] = await db
    .select({ orgId: containers.orgId, role: members.role, grant: containerAccess.level })
    .from(containers)
    .innerJoin(members, and(eq(members.orgId, containers.orgId), eq(members.userId, params.userId)))
    .leftJoin(
      containerAccess,
      and(eq(containerAccess.containerId, containers.id), eq(containerAccess.userId, params.userId)),
    )
    .where(eq(containers.id, params.containerId));
  const level = row ? containerLevel(row.role, row.grant) : null;
  if (!row || !level) throw notFound("Container");
  if (!levelAllows(level, params.need)) {
    throw new AppError(
      "FORBIDDEN",
      params.need === "manage"
        ? "Only organization Owners and Admins can do this."
        : "You have view access to this container; editing needs edit access.",
    );
  }
  return { containerId: params.containerId, orgId: row.orgId, role: row.role, level };
}
