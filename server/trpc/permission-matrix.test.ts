/**
 * The permission matrix, generated: every procedure of the router × every kind of caller, with the expected
 * outcome computed from the procedure's declared access rule (`meta.access`) and the permission table
 * (server/permissions.ts). A procedure added to the router without an input below fails this file.
 *
 * Each case runs in a fresh world, so destructive calls (remove a member, delete a container, revoke a
 * token) cannot affect other cases.
 */
import { TRPCError, type AnyTRPCProcedure } from "@trpc/server";
import { asc, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import {
  apiTokens,
  connectors,
  containerAccess,
  containers,
  credentialReads,
  files,
  invitations,
  members,
  sources,
} from "@/db/schema";
import { containerLevel, levelAllows, roleCan, type GrantLevel, type OrgRole } from "@/server/permissions";
import { issueInvitationLink } from "@/server/services/members";
import {
  callerFor,
  createInvitation,
  seedWorld,
  testS3,
  unique,
  uniqueEmail,
  type TestUser,
  type World,
} from "@/server/test/factories";
import type { AccessRule, Meta } from "./init";
import { appRouter } from "./router";

// ---------------------------------------------------------------------------------------------------------
// Callers: who they are in the world's org
// ---------------------------------------------------------------------------------------------------------

interface CallerSpec {
  label: string;
  /** Which of the world's users calls; null: not signed in. */
  user: keyof World["users"] | null;
  /** Role in the world's org; null: not a member of it. */
  role: OrgRole | null;
  /** Grant on the world's container. */
  grant: GrantLevel | null;
}

const CALLERS: CallerSpec[] = [
  { label: "owner", user: "owner", role: "owner", grant: null },
  { label: "admin", user: "admin", role: "admin", grant: null },
  { label: "member with edit", user: "editor", role: "member", grant: "edit" },
  { label: "member with view", user: "viewer", role: "member", grant: "view" },
  { label: "member without access", user: "noAccess", role: "member", grant: null },
  { label: "member of another org", user: "outsider", role: null, grant: null },
  { label: "anonymous", user: null, role: null, grant: null },
];

type Outcome = "allowed" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND";

/** What the permission table says should happen when `caller` calls a procedure guarded by `rule`. */
function expectedOutcome(rule: AccessRule, caller: CallerSpec): Outcome {
  if (rule.kind === "public") return "allowed";
  if (caller.user === null) return "UNAUTHORIZED";
  switch (rule.kind) {
    case "authed":
      return "allowed";
    case "org":
      if (!caller.role) return "NOT_FOUND";
      return roleCan(caller.role, rule.permission) ? "allowed" : "FORBIDDEN";
    case "container": {
      if (!caller.role) return "NOT_FOUND";
      const level = containerLevel(caller.role, caller.grant);
      if (!level) return "NOT_FOUND";
      return levelAllows(level, rule.level) ? "allowed" : "FORBIDDEN";
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// A valid input for every procedure, valid for every caller the procedure allows
// ---------------------------------------------------------------------------------------------------------

interface Me {
  user: TestUser | null;
  /** Slug of an org the caller belongs to (the world's org, or the outsider's own). */
  orgSlug: string;
}

const inputFor: Record<string, (world: World, me: Me) => unknown> = {
  me: () => undefined,
  "organizations.list": () => undefined,
  "organizations.bySlug": (_w, me) => ({ slug: me.orgSlug }),
  "organizations.create": () => ({ name: unique("Fresh org") }),
  "members.list": (w) => ({ orgId: w.org.id }),
  // Role "member": Admins may not hand out "owner", and the input must be valid for every allowed caller.
  "members.invite": (w) => ({ orgId: w.org.id, email: uniqueEmail("invited"), role: "member" }),
  // A link to the world's org for the caller's own address: valid for every signed-in caller (members accept harmlessly).
  // Public: a fresh link to the world's org, which anyone holding it may preview.
  "invitations.preview": async (w) => {
    const invitation = await createInvitation(w.org.id, { email: uniqueEmail("preview") });
    const { token } = await issueInvitationLink(getDb(), {
      invitationId: invitation.id,
      appUrl: "http://localhost:3000",
    });
    return { token };
  },
  "invitations.accept": async (w, me) => {
    const invitation = await createInvitation(w.org.id, {
      email: me.user?.email.toLowerCase() ?? uniqueEmail("nobody"),
    });
    const { token } = await issueInvitationLink(getDb(), {
      invitationId: invitation.id,
      appUrl: "http://localhost:3000",
    });
    return { token };
  },
  "members.revokeInvitation": (w) => ({ orgId: w.org.id, invitationId: w.invitation.id }),
  "members.changeRole": (w) => ({ orgId: w.org.id, userId: w.users.target.id, role: "admin" }),
  "members.remove": (w) => ({ orgId: w.org.id, userId: w.users.target.id }),
  "containers.list": (w) => ({ orgId: w.org.id }),
  "containers.create": (w) => ({ orgId: w.org.id, name: "New container", description: "made by the matrix" }),
  "containers.get": (w) => ({ containerId: w.container.id }),
  "containers.update": (w) => ({ containerId: w.container.id, name: "Renamed", description: "changed" }),
  "containers.delete": (w) => ({ containerId: w.container.id }),
  "containers.access.list": (w) => ({ containerId: w.container.id }),
  "containers.access.set": (w) => ({ containerId: w.container.id, userId: w.users.target.id, level: "view" }),
  "files.list": (w) => ({ containerId: w.container.id, search: "readme", page: 1, pageSize: 10 }),
  "files.delete": (w) => ({ containerId: w.container.id, fileId: w.file.id }),
  "files.retry": (w) => ({ containerId: w.container.id, fileId: w.failedFile.id }),
  "apiTokens.list": (w) => ({ containerId: w.container.id }),
  "apiTokens.create": (w) => ({ containerId: w.container.id, name: "Matrix agent" }),
  "apiTokens.revoke": (w) => ({ containerId: w.container.id, tokenId: w.token.id }),
  "connectors.list": (w) => ({ orgId: w.org.id }),
  "connectors.get": (w) => ({ orgId: w.org.id, connectorId: w.connector.id }),
  "connectors.create": (w) => {
    const s3 = testS3();
    return {
      orgId: w.org.id,
      label: "Matrix bucket",
      provider: "custom",
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      testBucket: s3.bucket,
    };
  },
  "connectors.update": (w) => ({
    orgId: w.org.id,
    connectorId: w.connector.id,
    label: "Renamed",
    region: w.connector.region,
    testBucket: w.connector.testBucket,
    credentials: null,
  }),
  "connectors.retest": (w) => ({ orgId: w.org.id, connectorId: w.connector.id }),
  "connectors.disconnect": (w) => ({ orgId: w.org.id, connectorId: w.connector.id }),
  "connectors.remove": (w) => ({ orgId: w.org.id, connectorId: w.disconnectedConnector.id }),
  "connectors.accessLog": (w) => ({ orgId: w.org.id, connectorId: w.connector.id }),
  "sources.list": (w) => ({ containerId: w.container.id }),
  "sources.runs": (w) => ({ containerId: w.container.id, sourceId: w.source.id }),
  "sources.failedFiles": (w) => ({ containerId: w.container.id, sourceId: w.source.id }),
  "sources.attach": (w) => ({
    containerId: w.container.id,
    connectorId: w.connector.id,
    bucket: w.connector.testBucket,
    prefix: "other/",
  }),
  "sources.previewPrefix": (w) => ({
    containerId: w.container.id,
    connectorId: w.connector.id,
    bucket: w.connector.testBucket,
    prefix: "reports/2026",
  }),
  "sources.syncNow": (w) => ({ containerId: w.container.id, sourceId: w.source.id }),
  "sources.detach": (w) => ({ containerId: w.container.id, sourceId: w.source.id }),
};

// ---------------------------------------------------------------------------------------------------------
// The router, walked
// ---------------------------------------------------------------------------------------------------------

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyTRPCProcedure>)
  .map(([path, procedure]) => ({
    path,
    type: procedure._def.type,
    access: (procedure._def.meta as Meta | undefined)?.access,
  }))
  .sort((a, b) => a.path.localeCompare(b.path));

function describeRule(rule: AccessRule | undefined): string {
  if (!rule) return "no access rule!";
  if (rule.kind === "org") return `org: ${rule.permission}`;
  if (rule.kind === "container") return `container: ${rule.level}`;
  return rule.kind;
}

type Call = (input: unknown) => Promise<unknown>;

function procedureOf(caller: ReturnType<typeof callerFor>, path: string): Call {
  return path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as Call;
}

/** Everything a denied call must leave untouched. */
async function snapshot(w: World) {
  const db = getDb();
  const [
    memberRows,
    containerRows,
    grantRows,
    fileRows,
    tokenRows,
    invitationRows,
    connectorRows,
    credentialReadRows,
    sourceRows,
  ] = await Promise.all([
    db
      .select({ orgId: members.orgId, userId: members.userId, role: members.role })
      .from(members)
      .where(inArray(members.orgId, [w.org.id, w.otherOrg.id]))
      .orderBy(asc(members.orgId), asc(members.userId)),
    db.select().from(containers).where(eq(containers.orgId, w.org.id)).orderBy(asc(containers.id)),
    db
      .select()
      .from(containerAccess)
      .where(eq(containerAccess.containerId, w.container.id))
      .orderBy(asc(containerAccess.userId)),
    db.select().from(files).where(eq(files.containerId, w.container.id)).orderBy(asc(files.id)),
    db.select().from(apiTokens).where(eq(apiTokens.containerId, w.container.id)).orderBy(asc(apiTokens.id)),
    db.select().from(invitations).where(eq(invitations.orgId, w.org.id)).orderBy(asc(invitations.id)),
    db.select().from(connectors).where(eq(connectors.orgId, w.org.id)).orderBy(asc(connectors.id)),
    db
      .select()
      .from(credentialReads)
      .where(eq(credentialReads.connectorId, w.connector.id))
      .orderBy(asc(credentialReads.id)),
    db.select().from(sources).where(eq(sources.containerId, w.container.id)).orderBy(asc(sources.id)),
  ]);
  return {
    memberRows,
    containerRows,
    grantRows,
    fileRows,
    tokenRows,
    invitationRows,
    connectorRows,
    credentialReadRows,
    sourceRows,
  };
}

describe("permission matrix", () => {
  it("covers every procedure of the router with an access rule and an input", () => {
    const paths = procedures.map((p) => p.path);
    expect(paths.length).toBeGreaterThan(0);
    expect(
      paths.filter((path) => !(path in inputFor)),
      "procedures without an entry in inputFor",
    ).toEqual([]);
    expect(
      Object.keys(inputFor).filter((path) => !paths.includes(path)),
      "inputFor entries for unknown procedures",
    ).toEqual([]);
    expect(
      procedures.filter((p) => !p.access).map((p) => p.path),
      "procedures without meta.access",
    ).toEqual([]);
  });

  it("seeds a world whose people match the caller table", async () => {
    const w = await seedWorld();
    const db = getDb();
    const [roles, grants] = await Promise.all([
      db.select({ userId: members.userId, role: members.role }).from(members).where(eq(members.orgId, w.org.id)),
      db.select().from(containerAccess).where(eq(containerAccess.containerId, w.container.id)),
    ]);
    for (const spec of CALLERS) {
      if (!spec.user) continue;
      const id = w.users[spec.user].id;
      expect(roles.find((r) => r.userId === id)?.role ?? null, spec.label).toBe(spec.role);
      expect(grants.find((g) => g.userId === id)?.level ?? null, spec.label).toBe(spec.grant);
    }
  });

  describe.each(procedures.map((p) => ({ ...p, rule: describeRule(p.access) })))(
    "$path ($type, $rule)",
    ({ path, type, access }) => {
      const cases = CALLERS.map((caller) => ({
        caller,
        expected: access ? expectedOutcome(access, caller) : ("no access rule" as const),
      }));

      it.concurrent.each(cases)("$caller.label → $expected", async ({ caller, expected }) => {
        const makeInput = inputFor[path];
        expect(makeInput, `add an input for "${path}" to inputFor`).toBeDefined();
        expect(access, `"${path}" has no meta.access`).toBeDefined();

        const world = await seedWorld();
        const user = caller.user ? world.users[caller.user] : null;
        const me: Me = { user, orgSlug: caller.user === "outsider" ? world.otherOrg.slug : world.org.slug };
        const call = procedureOf(callerFor(user), path);
        const input = await makeInput!(world, me);

        if (expected === "allowed") {
          await call(input); // resolves: any rejection fails the case with its error
          return;
        }

        const before = type === "mutation" ? await snapshot(world) : null;
        const error = await call(input).then(
          () => expect.fail(`${caller.label} was allowed to call ${path}; expected ${expected}`),
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TRPCError);
        expect((error as TRPCError).code, (error as Error).message).toBe(expected);
        if (before) expect(await snapshot(world), "a denied mutation changed data").toEqual(before);
      });
    },
  );
});
