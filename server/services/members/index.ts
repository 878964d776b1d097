/** Membership of an organization: who is in it with which role, and invitations that a link turns into memberships. */
import "server-only";
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { containerAccess, containers, invitations, members, organizations, users, verifications } from "@/db/schema";
import { AppError, errorForLog, notFound } from "@/server/errors";
import { isUuid } from "@/server/ids";
import { logger } from "@/server/logger";
import type { Mailer } from "@/server/mail";
import { assignableRoles, type OrgRole } from "@/server/permissions";
import { defined } from "@/server/defined";

export async function listMembers(db: DbOrTx, orgId: string) {
  const [people, pending] = await Promise.all([
    db
      .select({
        userId: users.id,
        name: users.name,
        email: users.email,
        role: members.role,
        joinedAt: members.createdAt,
      })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(eq(members.orgId, orgId))
      .orderBy(asc(users.name), asc(users.email)),
    db
      .select({
        id: invitations.id,
        email: invitations.email,
        role: invitations.role,
        invitedAt: invitations.createdAt,
      })
      .from(invitations)
      .where(eq(invitations.orgId, orgId))
      .orderBy(asc(invitations.email)),
  ]);
  return { members: people, invitations: pending };
}

/** How long an invite link works; a new link (inviting the address again) replaces the old one. */
export const INVITATION_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const LINK_IDENTIFIER = "org-invitation:";

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/**
 * A new single-use link for an invitation; the previous link stops working. The link carries the invitation
 * id and a random secret; only the secret's SHA-256 is stored (in better-auth's verifications table, with its
 * expiry), so a database leak does not leak usable links.
 */
export async function issueInvitationLink(db: DbOrTx, params: { invitationId: string; appUrl: string; now?: Date }) {
  const secret = randomBytes(32).toString("base64url");
  const identifier = LINK_IDENTIFIER + params.invitationId;
  const expiresAt = new Date((params.now ?? new Date()).getTime() + INVITATION_LINK_TTL_MS);
  await db.delete(verifications).where(eq(verifications.identifier, identifier));
  await db.insert(verifications).values({ id: randomUUID(), identifier, value: hashSecret(secret), expiresAt });
  const token = `${params.invitationId}.${secret}`;
  return { token, link: new URL(`/invite/${token}`, params.appUrl).toString(), expiresAt };
}

/**
 * Invites an address with a role. Nobody joins by being invited, nor by signing up with the address: a
 * membership comes only from the invite link (proof that the address is theirs), which is mailed to the
 * address and returned so that the inviter can copy it.
 */
export async function inviteMember(
  db: DbOrTx,
  deps: { mailer: Mailer },
  params: { orgId: string; actorRole: OrgRole; invitedBy: string; email: string; role: OrgRole; appUrl: string },
): Promise<{ invitationId: string; link: string; mailed: boolean }> {
  if (!assignableRoles(params.actorRole).includes(params.role)) {
    throw new AppError("FORBIDDEN", "Only Owners can make someone an Owner.", "role");
  }
  const email = params.email.trim().toLowerCase();
  const [existing] = await db
    .select({ userId: members.userId })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(and(eq(members.orgId, params.orgId), sql`lower(${users.email}) = ${email}`));
  if (existing) throw new AppError("CONFLICT", `${email} is already a member.`, "email");
  const [upserted] = await db
    .insert(invitations)
    .values({ orgId: params.orgId, email, role: params.role, invitedBy: params.invitedBy })
    .onConflictDoUpdate({
      target: [invitations.orgId, invitations.email],
      set: { role: params.role, invitedBy: params.invitedBy },
    })
    .returning({ id: invitations.id });
  const invitation = defined(upserted, "the invitation");
  const { link, expiresAt } = await issueInvitationLink(db, { invitationId: invitation.id, appUrl: params.appUrl });
  const [orgRow] = await db
    .select({ name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, params.orgId));
  const org = defined(orgRow, `organization ${params.orgId}`);
  const mailed = await deps.mailer
    .send({
      to: email,
      subject: `You are invited to ${org.name} on Wire`,
      text: [
        `You are invited to join ${org.name} on Wire as ${ROLE_NAMES[params.role]}.`,
        "",
        `Open this link to accept (it works once, until ${expiresAt.toUTCString()}):`,
        link,
        "",
        "If you did not expect this invitation, ignore this message.",
      ].join("\n"),
    })
    .then(
      () => true,
      (error: unknown) => {
        logger.warn({ err: errorForLog(error), orgId: params.orgId }, "invitation mail could not be sent");
        return false;
      },
    );
  return { invitationId: invitation.id, link, mailed };
}

const ROLE_NAMES: Record<OrgRole, string> = { owner: "an Owner", admin: "an Admin", member: "a Member" };

export const INVALID_INVITATION_LINK =
  "This invitation link does not work: it was used, revoked, or replaced by a newer one.";

/** The invitation a link points to, when the link is its current one. */
async function findByLink(db: DbOrTx, token: string, options: { lock: boolean }) {
  const [invitationId, secret] = token.split(".");
  if (!invitationId || !secret || !isUuid(invitationId)) throw new AppError("NOT_FOUND", INVALID_INVITATION_LINK);
  const query = db
    .select({
      id: invitations.id,
      orgId: invitations.orgId,
      email: invitations.email,
      role: invitations.role,
      orgName: organizations.name,
      orgSlug: organizations.slug,
      hash: verifications.value,
      expiresAt: verifications.expiresAt,
    })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .innerJoin(verifications, eq(verifications.identifier, sql`${LINK_IDENTIFIER} || ${invitations.id}::text`))
    .where(eq(invitations.id, invitationId));
  const [row] = options.lock ? await query.for("update", { of: invitations }) : await query;
  const given = Buffer.from(hashSecret(secret));
  const stored = Buffer.from(row?.hash ?? "");
  if (!row || stored.length !== given.length || !timingSafeEqual(given, stored)) {
    throw new AppError("NOT_FOUND", INVALID_INVITATION_LINK);
  }
  return row;
}

/** What the invite page shows: which org, which role, for which address, and whether the link has expired. */
export async function previewInvitation(db: DbOrTx, token: string) {
  const row = await findByLink(db, token, { lock: false });
  return { orgName: row.orgName, role: row.role, email: row.email, expired: row.expiresAt.getTime() <= Date.now() };
}

/**
 * Uses an invite link: the signed-in person must be the invited address (any letter case). The membership is
 * created and the invitation with its link deleted in one transaction, so a link works once.
 */
export async function acceptInvitation(db: DbOrTx, params: { token: string; user: { id: string; email: string } }) {
  return db.transaction(async (tx) => {
    const row = await findByLink(tx, params.token, { lock: true });
    if (row.expiresAt.getTime() <= Date.now()) {
      throw new AppError("BAD_REQUEST", "This invitation link has expired. Ask whoever invited you for a new one.");
    }
    if (row.email !== params.user.email.trim().toLowerCase()) {
      throw new AppError("FORBIDDEN", `This invitation is for ${row.email}. Sign in with that address to accept it.`);
    }
    await tx.insert(members).values({ orgId: row.orgId, userId: params.user.id, role: row.role }).onConflictDoNothing();
    await tx.delete(invitations).where(eq(invitations.id, row.id));
    await tx.delete(verifications).where(eq(verifications.identifier, LINK_IDENTIFIER + row.id));
    // The link reached them at this address: that is the proof a verified email stands for.
    await tx.update(users).set({ emailVerified: true }).where(eq(users.id, params.user.id));
    return { orgSlug: row.orgSlug };
  });
}

export async function revokeInvitation(db: DbOrTx, params: { orgId: string; invitationId: string }) {
  const deleted = await db
    .delete(invitations)
    .where(and(eq(invitations.id, params.invitationId), eq(invitations.orgId, params.orgId)))
    .returning({ id: invitations.id });
  if (!deleted.length) throw notFound("Invitation");
  await db.delete(verifications).where(eq(verifications.identifier, LINK_IDENTIFIER + params.invitationId));
}

/**
 * Runs a change to one member under a lock on the org's memberships, so that two Owners demoting or
 * removing each other at the same moment cannot leave the org without an Owner.
 */
async function changeMembership(db: DbOrTx, params: { orgId: string; userId: string; nextRole: OrgRole | null }) {
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
