import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { containerAccess, invitations, members } from "@/db/schema";
import { expectAppError, expectTRPCError } from "@/server/test/expect";
import {
  addMember,
  callerFor,
  createContainer,
  createOrg,
  createUser,
  grantAccess,
  uniqueEmail,
} from "@/server/test/factories";
import { requireContainerLevel } from "@/server/services/authorization";
import { acceptInvitations, changeRole, inviteMember, listMembers, removeMember } from ".";

const db = () => getDb();

async function roleOf(orgId: string, userId: string) {
  const [row] = await db()
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)));
  return row?.role ?? null;
}

async function ownersOf(orgId: string) {
  const rows = await db().select().from(members).where(and(eq(members.orgId, orgId), eq(members.role, "owner")));
  return rows.map((r) => r.userId).sort();
}

describe("inviting", () => {
  it("adds a person who already has an account at once", async () => {
    const org = await createOrg();
    const person = await createUser({ email: uniqueEmail("existing") });
    const result = await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email: person.email, role: "admin" });
    expect(result).toEqual({ status: "added" });
    expect(await roleOf(org.id, person.id)).toBe("admin");
    const listed = await listMembers(db(), org.id);
    expect(listed.invitations).toEqual([]);
    expect(listed.members.map((m) => m.userId).sort()).toEqual([org.owner.id, person.id].sort());
  });

  it("matches an existing account whatever the case of the typed email", async () => {
    const org = await createOrg();
    const person = await createUser({ email: uniqueEmail("mixed") });
    const result = await inviteMember(db(), {
      orgId: org.id,
      actorRole: "owner",
      invitedBy: org.owner.id,
      email: `  ${person.email.toUpperCase()} `,
      role: "member",
    });
    expect(result.status).toBe("added");
    expect(await roleOf(org.id, person.id)).toBe("member");
  });

  it("records an invitation for an unknown email, which becomes a membership on sign-up", async () => {
    const org = await createOrg();
    const email = uniqueEmail("newcomer");
    const result = await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email, role: "admin" });
    expect(result).toEqual({ status: "invited" });
    expect((await listMembers(db(), org.id)).invitations).toEqual([expect.objectContaining({ email, role: "admin" })]);

    // What the sign-up hook does once the account exists.
    const newcomer = await createUser({ email });
    await acceptInvitations(db(), { userId: newcomer.id, email: newcomer.email });

    expect(await roleOf(org.id, newcomer.id)).toBe("admin");
    expect(await db().select().from(invitations).where(eq(invitations.email, email))).toEqual([]);
  });

  it("accepts invitations to several orgs at once, and accepting twice is harmless", async () => {
    const [a, b] = await Promise.all([createOrg(), createOrg()]);
    const email = uniqueEmail("popular");
    await inviteMember(db(), { orgId: a.id, actorRole: "owner", invitedBy: a.owner.id, email, role: "member" });
    await inviteMember(db(), { orgId: b.id, actorRole: "owner", invitedBy: b.owner.id, email, role: "admin" });
    const person = await createUser({ email });
    await acceptInvitations(db(), { userId: person.id, email: email.toUpperCase() });
    await acceptInvitations(db(), { userId: person.id, email });
    expect(await roleOf(a.id, person.id)).toBe("member");
    expect(await roleOf(b.id, person.id)).toBe("admin");
  });

  it("inviting the same unknown email again updates the pending invitation's role", async () => {
    const org = await createOrg();
    const email = uniqueEmail("twice");
    await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email, role: "member" });
    await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email, role: "admin" });
    expect((await listMembers(db(), org.id)).invitations).toEqual([expect.objectContaining({ email, role: "admin" })]);
  });

  it("refuses to invite someone who is already a member (CONFLICT)", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    await expectAppError(
      inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email: member.email, role: "admin" }),
      "CONFLICT",
    );
    expect(await roleOf(org.id, member.id)).toBe("member");
    await expectTRPCError(callerFor(org.owner).members.invite({ orgId: org.id, email: org.owner.email, role: "member" }), "CONFLICT");
  });

  it("does not let an Admin make anyone an Owner (FORBIDDEN), but lets them invite Admins and Members", async () => {
    const org = await createOrg();
    const admin = await addMember(org.id, "admin");
    const existing = await createUser({ email: uniqueEmail("would-be-owner") });
    const unknown = uniqueEmail("unknown");

    await expectAppError(
      inviteMember(db(), { orgId: org.id, actorRole: "admin", invitedBy: admin.id, email: existing.email, role: "owner" }),
      "FORBIDDEN",
    );
    const asAdmin = callerFor(admin);
    await expectTRPCError(asAdmin.members.invite({ orgId: org.id, email: existing.email, role: "owner" }), "FORBIDDEN");
    await expectTRPCError(asAdmin.members.invite({ orgId: org.id, email: unknown, role: "owner" }), "FORBIDDEN");
    expect(await roleOf(org.id, existing.id)).toBeNull();
    expect((await listMembers(db(), org.id)).invitations).toEqual([]);

    await expect(asAdmin.members.invite({ orgId: org.id, email: existing.email, role: "admin" })).resolves.toEqual({ status: "added" });
    await expect(asAdmin.members.invite({ orgId: org.id, email: unknown, role: "member" })).resolves.toEqual({ status: "invited" });
  });

  it("revokes an invitation only within its own org", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email: uniqueEmail(), role: "member" });
    const [invitation] = (await listMembers(db(), org.id)).invitations;
    await expectTRPCError(callerFor(other.owner).members.revokeInvitation({ orgId: other.id, invitationId: invitation!.id }), "NOT_FOUND");
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
    const [failure] = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(["CONFLICT", "NOT_FOUND"]).toContain(failure!.reason.code);
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
    await inviteMember(db(), { orgId: org.id, actorRole: "owner", invitedBy: org.owner.id, email: member.email, role: "member" });

    expect(await db().select().from(containerAccess).where(eq(containerAccess.userId, member.id))).toEqual([]);
    await expectAppError(requireContainerLevel(db(), { containerId: container.id, userId: member.id, need: "view" }), "NOT_FOUND");
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
