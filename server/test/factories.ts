/**
 * Seed factories for tests: fast, direct inserts against the real test database, plus services where the
 * service itself is what makes the row valid (orgs with their Owner, files with their stored copy).
 * Every factory creates unique rows, so tests can run side by side in one database without cleaning up.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { inject } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { getDb } from "@/db/client";
import { connectors, containerAccess, containers, files, invitations, members, sources, users } from "@/db/schema";
import type { SessionUser } from "@/server/auth";
import type { EventOutbox } from "@/inngest/outbox";
import { LocalBlobStore, type BlobStore } from "@/server/blobs";
import { recordingEvents } from "./events";
import { logger } from "@/server/logger";
import { LocalOutbox } from "@/server/mail";
import type { GrantLevel, OrgRole } from "@/server/permissions";
import { createApiToken } from "@/server/services/api-tokens";
import { sealCredentials } from "@/server/services/connectors/credentials";
import { writeFile } from "@/server/services/files";
import { createOrganization } from "@/server/services/organizations";
import type { Context } from "@/server/trpc/context";
import { createCaller } from "@/server/trpc/router";

export type TestUser = SessionUser;

export const db = () => getDb();

/** A unique, never-registered email address. */
export function uniqueEmail(label = "user"): string {
  return `${label}-${randomUUID()}@example.test`;
}

/** A short unique suffix for names that should not clash between tests. */
export function unique(label: string): string {
  return `${label} ${randomUUID().slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Blob stores
// ---------------------------------------------------------------------------------------------------------

function dataDir(): string {
  const dir = process.env.WIRE_DATA_DIR;
  if (!dir) throw new Error("WIRE_DATA_DIR is not set: is server/test/setup.ts configured as a setup file?");
  return dir;
}

/** A LocalBlobStore in a fresh temporary directory under WIRE_DATA_DIR, with its root for inspection. */
export function tempBlobStore(): { store: LocalBlobStore; root: string } {
  const root = fs.mkdtempSync(path.join(dataDir(), "blobs-"));
  return { store: new LocalBlobStore(root), root };
}

let shared: { store: LocalBlobStore; root: string } | undefined;

/** The blob store this test process shares between factories and `callerFor`. */
export function testBlobs(): LocalBlobStore {
  shared ??= tempBlobStore();
  return shared.store;
}

/** Every key stored under a LocalBlobStore root (relative paths, "/"-separated), excluding temp files. */
export function listBlobKeys(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

// ---------------------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------------------

export async function createUser(overrides: Partial<TestUser> = {}): Promise<TestUser> {
  const id = overrides.id ?? randomUUID();
  const user = { id, name: overrides.name ?? `User ${id.slice(0, 8)}`, email: overrides.email ?? `${id}@example.test` };
  await db().insert(users).values(user);
  return user;
}

/** Several users in one insert. */
export async function createUsers(count: number, label = "User"): Promise<TestUser[]> {
  const list = Array.from({ length: count }, (_, i) => {
    const id = randomUUID();
    return { id, name: `${label} ${i + 1} ${id.slice(0, 8)}`, email: `${id}@example.test` };
  });
  if (list.length) await db().insert(users).values(list);
  return list;
}

export type TestOrg = Awaited<ReturnType<typeof createOrganization>> & { owner: TestUser };

/** An organization created through the service, so its creator is its Owner. */
export async function createOrg(params: { owner?: TestUser; name?: string } = {}): Promise<TestOrg> {
  const owner = params.owner ?? (await createUser({ name: "Owner" }));
  const org = await createOrganization(db(), { userId: owner.id, name: params.name ?? unique("Org") });
  return { ...org, owner };
}

/** Adds a member with `role` (a new user unless one is given). */
export async function addMember(orgId: string, role: OrgRole, user?: TestUser): Promise<TestUser> {
  const member = user ?? (await createUser({ name: `${role} member` }));
  await db().insert(members).values({ orgId, userId: member.id, role });
  return member;
}

export async function createContainer(
  orgId: string,
  params: { name?: string; description?: string; createdBy?: string | null } = {},
) {
  const [container] = await db()
    .insert(containers)
    .values({
      orgId,
      name: params.name ?? unique("Container"),
      description: params.description ?? "",
      createdBy: params.createdBy ?? null,
    })
    .returning();
  return container!;
}

export async function grantAccess(containerId: string, userId: string, level: GrantLevel): Promise<void> {
  await db().insert(containerAccess).values({ containerId, userId, level });
}

export async function createInvitation(
  orgId: string,
  params: { email?: string; role?: OrgRole; invitedBy?: string | null } = {},
) {
  const [invitation] = await db()
    .insert(invitations)
    .values({
      orgId,
      email: params.email ?? uniqueEmail("invitee"),
      role: params.role ?? "member",
      invitedBy: params.invitedBy ?? null,
    })
    .returning();
  return invitation!;
}

/** A file written through the service: a stored copy in `blobs` and a row. */
export async function uploadFile(
  containerId: string,
  params: {
    name?: string;
    body?: string | Uint8Array;
    contentType?: string;
    createdBy?: string | null;
    blobs?: BlobStore;
    events?: EventOutbox;
  } = {},
) {
  const body = params.body ?? "hello";
  return writeFile(
    db(),
    { blobs: params.blobs ?? testBlobs(), events: params.events ?? recordingEvents() },
    {
      containerId,
      name: params.name ?? `${randomUUID()}.txt`,
      contentType: params.contentType ?? "text/plain",
      body: typeof body === "string" ? new TextEncoder().encode(body) : body,
      origin: "upload",
      createdBy: params.createdBy ?? null,
      maxBytes: 10 * 1024 * 1024,
    },
  );
}

export function createToken(containerId: string, params: { name?: string; createdBy: string }) {
  return createApiToken(db(), { containerId, name: params.name ?? "Agent", createdBy: params.createdBy });
}

// ---------------------------------------------------------------------------------------------------------
// A whole organization with one person per kind of access
// ---------------------------------------------------------------------------------------------------------

/**
 * An org with an Owner, an Admin, a Member with an edit grant, a Member with a view grant, a Member without
 * any grant and a plain Member to act on (`target`); an outsider who owns a second org; one container with
 * one file, one API token and one pending invitation.
 */
/** An uploaded file whose processing failed (for retry tests). */
export async function createFailedFile(containerId: string, createdBy: string | null = null) {
  const file = await uploadFile(containerId, {
    name: `${randomUUID()}.pdf`,
    contentType: "application/pdf",
    createdBy,
  });
  const [failed] = await db()
    .update(files)
    .set({ status: "failed", error: "This PDF could not be read." })
    .where(eq(files.id, file.id))
    .returning();
  return failed!;
}

export async function seedWorld() {
  const [owner, admin, editor, viewer, noAccess, target, outsider] = await createUsers(7, "World");
  const [org, otherOrg] = await Promise.all([
    createOrganization(db(), { userId: owner!.id, name: unique("World") }),
    createOrganization(db(), { userId: outsider!.id, name: unique("Elsewhere") }),
  ]);
  await db()
    .insert(members)
    .values([
      { orgId: org.id, userId: admin!.id, role: "admin" as const },
      ...[editor, viewer, noAccess, target].map((u) => ({ orgId: org.id, userId: u!.id, role: "member" as const })),
    ]);
  const [container, connector, disconnectedConnector] = await Promise.all([
    createContainer(org.id, { name: unique("Box"), createdBy: owner!.id }),
    createConnectorRow(org.id, { createdBy: owner!.id }),
    createConnectorRow(org.id, {
      createdBy: owner!.id,
      status: "disconnected",
      sealedCredentials: null,
      disconnectedAt: new Date(),
    }),
  ]);
  const [source] = await db()
    .insert(sources)
    .values({
      containerId: container.id,
      connectorId: connector.id,
      bucket: connector.testBucket,
      prefix: "reports/",
      status: "synced",
      lastSyncedAt: new Date(),
      createdBy: owner!.id,
    })
    .returning();
  const [, file, token, invitation] = await Promise.all([
    db()
      .insert(containerAccess)
      .values([
        { containerId: container.id, userId: editor!.id, level: "edit" as const },
        { containerId: container.id, userId: viewer!.id, level: "view" as const },
      ]),
    uploadFile(container.id, { name: "readme.md", body: "# hello", createdBy: owner!.id }),
    createToken(container.id, { createdBy: owner!.id }),
    createInvitation(org.id, { invitedBy: owner!.id }),
  ]);
  return {
    org,
    otherOrg,
    users: {
      owner: owner!,
      admin: admin!,
      editor: editor!,
      viewer: viewer!,
      noAccess: noAccess!,
      target: target!,
      outsider: outsider!,
    },
    container,
    connector,
    disconnectedConnector,
    source: source!,
    file,
    failedFile: await createFailedFile(container.id, owner!.id),
    token,
    invitation,
  };
}

export type World = Awaited<ReturnType<typeof seedWorld>>;

// ---------------------------------------------------------------------------------------------------------
// Connectors
// ---------------------------------------------------------------------------------------------------------

/** The test run's real S3 server (s3rver), its bucket and the credentials it accepts. */
export function testS3() {
  return {
    endpoint: inject("s3Endpoint"),
    bucket: inject("s3Bucket"),
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  };
}

/** A connector to the test S3 server, stored as the service would store it (sealed credentials). */
export async function createConnectorRow(orgId: string, overrides: Partial<typeof connectors.$inferInsert> = {}) {
  const s3 = testS3();
  const id = randomUUID();
  const sealedCredentials = await sealCredentials(
    { id, orgId },
    { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  );
  const [row] = await db()
    .insert(connectors)
    .values({
      id,
      orgId,
      label: unique("Bucket"),
      provider: "custom",
      endpoint: s3.endpoint,
      region: s3.region,
      testBucket: s3.bucket,
      sealedCredentials,
      lastCheckedAt: new Date(),
      ...overrides,
    })
    .returning();
  return row!;
}

// ---------------------------------------------------------------------------------------------------------
// Calling the API
// ---------------------------------------------------------------------------------------------------------

/** The tRPC context a request by `user` (or an anonymous one) would get. */
export function contextFor(user: TestUser | null, options: { blobs?: BlobStore; events?: EventOutbox } = {}): Context {
  const requestId = randomUUID();
  return {
    db: getDb(),
    blobs: options.blobs ?? testBlobs(),
    events: options.events ?? recordingEvents(),
    user: user ? { id: user.id, email: user.email, name: user.name } : null,
    log: logger.child({ requestId }),
    requestId,
    mailer: testOutbox(),
  };
}

/** The local outbox tests send mail to (under WIRE_DATA_DIR), to read what was sent. */
export function testOutbox(): LocalOutbox {
  return new LocalOutbox(path.join(dataDir(), "outbox"), "Wire <wire@localhost>");
}

/** The invite link of the last mail the test outbox holds for `email`. */
export function inviteLinkMailedTo(email: string): string {
  const dir = testOutbox().dir;
  const mails = fs
    .readdirSync(dir)
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .filter((m) => m.includes(`To: ${email}\r\n`));
  const link = /https?:\/\/\S+\/invite\/\S+/.exec(mails.at(-1) ?? "")?.[0];
  if (!link) throw new Error(`No invitation mail for ${email} in ${dir}`);
  return link;
}

/** A server-side tRPC caller acting as `user` (null: not signed in). */
export function callerFor(user: TestUser | null, options: { blobs?: BlobStore; events?: EventOutbox } = {}) {
  return createCaller(contextFor(user, options));
}
