/** Membership of an organization: who is in it with which role, and invitations for people without an account. */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { containerAccess, containers, invitations, members, users } from "@/db/schema";
import { AppError, notFound } from "@/server/errors";
import { assignableRoles, type OrgRole } from "@/server/permissions";

export async function listMembers(db: DbOrTx, orgId: string) {
  const [people, pending] = await Promise.all([
    db
      .select({ userId: users.id, name: users.name, email: users.email, role: members.role, joinedAt: members.createdAt })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(eq(members.orgId, orgId))
      .orderBy(asc(users.name), asc(users.email)),
    db
      .select({ id: invitations.id, email: invitations.email, role: invitations.role, invitedAt: invitations.createdAt })
      .from(invitations)
      .where(eq(invitations.orgId, orgId))
      .orderBy(asc(invitations.email)),
  ]);
  return { members: people, invitations: pending };
}

/**
 * Adds the person with that email at once if they have an account; otherwise records an invitation
 * that turns into a membership when they sign up with that email.
 */
export async function inviteMember(
  db: DbOrTx,
  params: { orgId: string; actorRole: OrgRole; invitedBy: string; email: string; role: OrgRole },
): Promise<{ status: "added" | "invited" }> {
  if (!assignableRoles(params.actorRole).includes(params.role)) {
    throw new AppError("FORBIDDEN", "Only Owners can make someone an Owner.", "role");
  }
  const email = params.email.trim().toLowerCase();
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  if (user) {
    const inserted = await db
      .insert(members)
      .values({ orgId: params.orgId, userId: user.id, role: params.role })
      .onConflictDoNothing()
      .returning({ userId: members.userId });
    if (!inserted.length) throw new AppError("CONFLICT", `${email} is already a member.`, "email");
    return { status: "added" };
  }
  await db
    .insert(invitations)
    .values({ orgId: params.orgId, email, role: params.role, invitedBy: params.invitedBy })
    .onConflictDoUpdate({ target: [invitations.orgId, invitations.email], set: { role: params.role } });
  return { status: "invited" };
}

export async function revokeInvitation(db: DbOrTx, params: { orgId: string; invitationId: string }) {
  const deleted = await db
    .delete(invitations)
    .where(and(eq(invitations.id, params.invitationId), eq(invitations.orgId, params.orgId)))
    .returning({ id: invitations.id });
  if (!deleted.length) throw notFound("Invitation");
}

/**
 * Runs a change to one member under a lock on the org's memberships, so that two Owners demoting or
 * removing each other at the same moment cannot leave the org without an Owner.
 */
async function changeMembership(
  db: DbOrTx,
  params: { orgId: string; userId: string; nextRole: OrgRole | null },
) {
  await db.transaction(async (tx) => {
    const rows = await tx
      .select({ userId: members.userId, role: members.role })
      .from(members)
      .where(eq(members.orgId, params.orgId))
      .for("update");
    const target = rows.find((r) => r.userId === params.userId);
    if (!target) throw notFound("Member");
    const owners = rows.filter((r) => r.role === "owner").length;
    if (target.role === "owner" && params.nextRole !== "owner" && owners <= 1) {
      throw new AppError("CONFLICT", "An organization must keep at least one Owner. Make someone else an Owner first.");
    }
    const where = and(eq(members.orgId, params.orgId), eq(members.userId, params.userId));
    if (params.nextRole) {
      await tx.update(members).set({ role: params.nextRole }).where(where);
      return;
    }
    await tx.delete(members).where(where);
    // Their grants go with them: someone invited back later starts without their old container access.
    const orgContainers = tx.select({ id: containers.id }).from(containers).where(eq(containers.orgId, params.orgId));
    await tx
      .delete(containerAccess)
      .where(and(eq(containerAccess.userId, params.userId), inArray(containerAccess.containerId, orgContainers)));
  });
}

export function changeRole(db: DbOrTx, params: { orgId: string; userId: string; role: OrgRole }) {
  return changeMembership(db, { orgId: params.orgId, userId: params.userId, nextRole: params.role });
}

export function removeMember(db: DbOrTx, params: { orgId: string; userId: string }) {
  return changeMembership(db, { orgId: params.orgId, userId: params.userId, nextRole: null });
}

/** Turns every pending invitation for this email into a membership (called when an account is created). */
export async function acceptInvitations(db: DbOrTx, params: { userId: string; email: string }) {
  const email = params.email.trim().toLowerCase();
  await db.transaction(async (tx) => {
    const pending = await tx.delete(invitations).where(eq(invitations.email, email)).returning();
    if (!pending.length) return;
    await tx
      .insert(members)
      .values(pending.map((i) => ({ orgId: i.orgId, userId: params.userId, role: i.role })))
      .onConflictDoNothing();
  });
}
