import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { containerAccess, members, verifications } from "@/db/schema";
import { expectAppError, expectTRPCError } from "@/server/test/expect";
import {
  addMember,
  callerFor,
  createContainer,
  createOrg,
  createUser,
  grantAccess,
  inviteLinkMailedTo,
  testOutbox,
  uniqueEmail,
} from "@/server/test/factories";
import { requireContainerLevel } from "@/server/services/authorization";
import type { OrgRole } from "@/server/permissions";
import { acceptInvitation, changeRole, inviteMember, listMembers, removeMember } from ".";

const db = () => getDb();

async function roleOf(orgId: string, userId: string) {
  const [row] = await db()
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)));
  return row?.role ?? null;
}

async function ownersOf(orgId: string) {
  const rows = await db()
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.role, "owner")));
  return rows.map((r) => r.userId).sort();
}

const APP = "http://localhost:3000";
const outbox = () => ({ mailer: testOutbox() });
const invite = (orgId: string, invitedBy: string, email: string, role: OrgRole, actorRole: OrgRole = "owner") =>
  inviteMember(db(), outbox(), { orgId, actorRole, invitedBy, email, role, appUrl: APP });
const tokenOf = (link: string) => decodeURIComponent(new URL(link).pathname.split("/").pop()!);

describe("inviting", () => {
  it("grants nothing to an invited address that signs up (any letter case) until the invite link is used", async () => {
    const org = await createOrg();
    const email = uniqueEmail("new-admin");
    const { link } = await invite(org.id, org.owner.id, email, "admin");
    // Someone signs up with the invited address, unverified: that alone makes them nothing in the org.
    const { getAuth } = await import("@/server/auth");
    const signedUp = await getAuth().api.signUpEmail({
      body: { email: email.toUpperCase(), password: "a fine password", name: "Squatter" },
    });
    expect(await roleOf(org.id, signedUp.user.id)).toBeNull();
    expect((await listMembers(db(), org.id)).invitations).toEqual([expect.objectContaining({ email, role: "admin" })]);

    // The link, opened by the person at that address, makes them Admin, once.
    const person = { id: signedUp.user.id, email: signedUp.user.email };
    await expect(
      callerFor({ ...person, name: "Invitee" }).invitations.accept({ token: tokenOf(link) }),
    ).resolves.toEqual({ orgSlug: org.slug });
    expect(await roleOf(org.id, person.id)).toBe("admin");
    expect((await listMembers(db(), org.id)).invitations).toEqual([]);
    await expectTRPCError(
      callerFor({ ...person, name: "Invitee" }).invitations.accept({ token: tokenOf(link) }),
      "NOT_FOUND",
    );
  });

  it("does not add an existing account at once: it gets a link like anyone", async () => {
    const org = await createOrg();
    const person = await createUser({ email: uniqueEmail("existing") });
    const { link, mailed } = await invite(org.id, org.owner.id, `  ${person.email.toUpperCase()} `, "admin");
    expect(mailed).toBe(true);
    expect(await roleOf(org.id, person.id)).toBeNull();
    // The link was mailed to the address, and the inviter got the same one to copy.
    expect(inviteLinkMailedTo(person.email)).toBe(link);
    await acceptInvitation(db(), { token: tokenOf(link), user: person });
    expect(await roleOf(org.id, person.id)).toBe("admin");
  });

  it("refuses a link used by another account, an expired link, a replaced link and a forged one", async () => {
    const org = await createOrg();
    const email = uniqueEmail("owner-to-be");
    const person = await createUser({ email });
    const other = await createUser({ email: uniqueEmail("someone-else") });
    const first = await invite(org.id, org.owner.id, email, "owner");

    await expectAppError(acceptInvitation(db(), { token: tokenOf(first.link), user: other }), "FORBIDDEN");
    // Inviting again replaces the link: the first stops working.
    const second = await invite(org.id, org.owner.id, email, "owner");
    await expectAppError(acceptInvitation(db(), { token: tokenOf(first.link), user: person }), "NOT_FOUND");
    const [invitationId, secret] = tokenOf(second.link).split(".");
    await expectAppError(
      acceptInvitation(db(), { token: `${invitationId}.${secret!.slice(1)}x`, user: person }),
      "NOT_FOUND",
    );
    await expectAppError(acceptInvitation(db(), { token: "not-a-token", user: person }), "NOT_FOUND");

    await db()
      .update(verifications)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(verifications.identifier, `org-invitation:${invitationId}`));
    await expectAppError(acceptInvitation(db(), { token: tokenOf(second.link), user: person }), "BAD_REQUEST");
    expect(await roleOf(org.id, person.id)).toBeNull();
    expect(await roleOf(org.id, other.id)).toBeNull();
  });

  it("stores only a hash of the link's secret", async () => {
    const org = await createOrg();
    const { link } = await invite(org.id, org.owner.id, uniqueEmail("hashed"), "member");
    const secret = tokenOf(link).split(".")[1]!;
    const rows = await db().select().from(verifications);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it("inviting the same email again updates the pending invitation's role", async () => {
    const org = await createOrg();
    const email = uniqueEmail("twice");
    await invite(org.id, org.owner.id, email, "member");
    await invite(org.id, org.owner.id, email, "admin");
    expect((await listMembers(db(), org.id)).invitations).toEqual([expect.objectContaining({ email, role: "admin" })]);
  });

  it("refuses to invite someone who is already a member (CONFLICT)", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    await expectAppError(invite(org.id, org.owner.id, member.email.toUpperCase(), "admin"), "CONFLICT");
    expect(await roleOf(org.id, member.id)).toBe("member");
    await expectTRPCError(
      callerFor(org.owner).members.invite({ orgId: org.id, email: org.owner.email, role: "member" }),
      "CONFLICT",
    );
  });

  it("does not let an Admin make anyone an Owner (FORBIDDEN), but lets them invite Admins and Members", async () => {
    const org = await createOrg();
    const admin = await addMember(org.id, "admin");
    const existing = await createUser({ email: uniqueEmail("would-be-owner") });
    const unknown = uniqueEmail("unknown");

    await expectAppError(invite(org.id, admin.id, existing.email, "owner", "admin"), "FORBIDDEN");
    const asAdmin = callerFor(admin);
    await expectTRPCError(asAdmin.members.invite({ orgId: org.id, email: existing.email, role: "owner" }), "FORBIDDEN");
    await expectTRPCError(asAdmin.members.invite({ orgId: org.id, email: unknown, role: "owner" }), "FORBIDDEN");
    expect(await roleOf(org.id, existing.id)).toBeNull();
    expect((await listMembers(db(), org.id)).invitations).toEqual([]);

    await expect(
      asAdmin.members.invite({ orgId: org.id, email: existing.email, role: "admin" }),
    ).resolves.toMatchObject({ mailed: true });
    await expect(asAdmin.members.invite({ orgId: org.id, email: unknown, role: "member" })).resolves.toMatchObject({
      mailed: true,
    });
  });

  it("revokes an invitation only within its own org", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    await invite(org.id, org.owner.id, uniqueEmail(), "member");
    const [invitation] = (await listMembers(db(), org.id)).invitations;
    await expectTRPCError(
      callerFor(other.owner).members.revokeInvitation({ orgId: other.id, invitationId: invitation!.id }),
      "NOT_FOUND",
    );
    expect((await listMembers(db(), org.id)).invitations).toHaveLength(1);
    await callerFor(org.owner).members.revokeInvitation({ orgId: org.id, invitationId: invitation!.id });
    expect((await listMembers(db(), org.id)).invitations).toEqual([]);
  });
});

describe("the last Owner", () => {
  it("cannot be demoted or removed (CONFLICT)", async () => {
    const org = await createOrg();
    await addMember(org.id, "admin");
    await expectAppError(changeRole(db(), { orgId: org.id, userId: org.owner.id, role: "admin" }), "CONFLICT");
    await expectAppError(changeRole(db(), { orgId: org.id, userId: org.owner.id, role: "member" }), "CONFLICT");
    await expectAppError(removeMember(db(), { orgId: org.id, userId: org.owner.id }), "CONFLICT");
    await expectTRPCError(callerFor(org.owner).members.remove({ orgId: org.id, userId: org.owner.id }), "CONFLICT");
    expect(await ownersOf(org.id)).toEqual([org.owner.id]);
    // Re-affirming the role is not a demotion.
    await changeRole(db(), { orgId: org.id, userId: org.owner.id, role: "owner" });
  });

  it("can be demoted or removed once another Owner exists", async () => {
    const org = await createOrg();
    const second = await addMember(org.id, "member");
    await changeRole(db(), { orgId: org.id, userId: second.id, role: "owner" });
    await changeRole(db(), { orgId: org.id, userId: org.owner.id, role: "admin" });
    expect(await roleOf(org.id, org.owner.id)).toBe("admin");
    await removeMember(db(), { orgId: org.id, userId: org.owner.id });
    expect(await roleOf(org.id, org.owner.id)).toBeNull();
    expect(await ownersOf(org.id)).toEqual([second.id]);
    // Now `second` is the last one.
    await expectAppError(removeMember(db(), { orgId: org.id, userId: second.id }), "CONFLICT");
  });

  it("survives two Owners demoting each other at the same moment: exactly one Owner is left", async () => {
    // Repeated in parallel orgs to give the race a fair chance to show.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const org = await createOrg();
        const other = await addMember(org.id, "owner");
        const results = await Promise.allSettled([
          changeRole(db(), { orgId: org.id, userId: other.id, role: "admin" }),
          changeRole(db(), { orgId: org.id, userId: org.owner.id, role: "admin" }),
        ]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const [failure] = results.filter((r) => r.status === "rejected");
        expect((failure as PromiseRejectedResult).reason).toMatchObject({ code: "CONFLICT" });
        expect(await ownersOf(org.id)).toHaveLength(1);
      }),
    );
  });

  it("survives two Owners removing each other through the API at the same moment", async () => {
    const org = await createOrg();
    const other = await addMember(org.id, "owner");
    const results = await Promise.allSettled([
      callerFor(org.owner).members.remove({ orgId: org.id, userId: other.id }),
      callerFor(other).members.remove({ orgId: org.id, userId: org.owner.id }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    // The loser either lost the race inside the lock (CONFLICT) or was no longer a member when checked (NOT_FOUND).
    const [failure] = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(["CONFLICT", "NOT_FOUND"]).toContain((failure!.reason as { code: string }).code);
    expect(await ownersOf(org.id)).toHaveLength(1);
  });
});

describe("changing roles and removing members", () => {
  it("changes a member's role and removes members; unknown members are NOT_FOUND", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    const member = await addMember(org.id, "member");
    await changeRole(db(), { orgId: org.id, userId: member.id, role: "admin" });
    expect(await roleOf(org.id, member.id)).toBe("admin");
    await expectAppError(changeRole(db(), { orgId: org.id, userId: other.owner.id, role: "member" }), "NOT_FOUND");
    await expectAppError(removeMember(db(), { orgId: org.id, userId: other.owner.id }), "NOT_FOUND");
    expect(await roleOf(other.id, other.owner.id)).toBe("owner");
    await removeMember(db(), { orgId: org.id, userId: member.id });
    expect(await roleOf(org.id, member.id)).toBeNull();
  });

  it("a removed member who is invited again does not get their old container access back", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    const container = await createContainer(org.id);
    await grantAccess(container.id, member.id, "edit");
    await removeMember(db(), { orgId: org.id, userId: member.id });
    const { link } = await invite(org.id, org.owner.id, member.email, "member");
    await acceptInvitation(db(), { token: tokenOf(link), user: member });

    expect(await db().select().from(containerAccess).where(eq(containerAccess.userId, member.id))).toEqual([]);
    await expectAppError(
      requireContainerLevel(db(), { containerId: container.id, userId: member.id, need: "view" }),
      "NOT_FOUND",
    );
  });

  it("removing a member clears their grants in that org only", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    const person = await addMember(org.id, "member");
    await addMember(other.id, "member", person);
    const [here, there] = await Promise.all([createContainer(org.id), createContainer(other.id)]);
    await Promise.all([grantAccess(here.id, person.id, "view"), grantAccess(there.id, person.id, "edit")]);
    await removeMember(db(), { orgId: org.id, userId: person.id });
    const grants = await db().select().from(containerAccess).where(eq(containerAccess.userId, person.id));
    expect(grants.map((g) => [g.containerId, g.level])).toEqual([[there.id, "edit"]]);
  });
});
