/**
 * Connectors against the test run's real S3 server (s3rver): validated before anything is stored, sealed at
 * rest, every unseal logged, credentials never in any response.
 */
import { randomUUID } from "node:crypto";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import superjson from "superjson";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { connectors, credentialReads, sources } from "@/db/schema";
import { onS3Request, type S3RequestRecord } from "@/server/s3/client";
import { mockS3UnderPolicy } from "@/server/test/iam-policy";
import { recordingEvents } from "@/server/test/events";
import { expectTRPCError } from "@/server/test/expect";
import {
  addMember,
  callerFor,
  createConnectorRow,
  createContainer,
  createOrg,
  db,
  grantAccess,
  testS3,
  unique,
} from "@/server/test/factories";
import { readCredentials, sealCredentials } from "./credentials";
import { minimalIamPolicy } from "./providers";

const SECRET = `secret-${randomUUID()}`;
const SESSION = `session-${randomUUID()}`;

function createInput(orgId: string, overrides: Record<string, unknown> = {}) {
  const s3 = testS3();
  return {
    orgId,
    label: unique("Research"),
    provider: "custom" as const,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: SECRET,
    sessionToken: SESSION,
    testBucket: s3.bucket,
    ...overrides,
  };
}

const rowsOf = (orgId: string) => db().select().from(connectors).where(eq(connectors.orgId, orgId));
const readsOf = (connectorId: string) =>
  db().select().from(credentialReads).where(eq(credentialReads.connectorId, connectorId));

describe("connectors", () => {
  it("validates, seals and stores a connector; the secret and session token never come back out", async () => {
    const org = await createOrg();
    const api = callerFor(org.owner, { events: recordingEvents() });
    const created = await api.connectors.create(createInput(org.id));
    expect(created).toMatchObject({
      status: "active",
      provider: "custom",
      region: "us-east-1",
      testBucket: testS3().bucket,
    });
    expect(created.lastCheckedAt).toBeInstanceOf(Date);

    const [row] = await rowsOf(org.id);
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain(SESSION);
    expect(row!.sealedCredentials).toMatchObject({ v: 1, kms: "local" });

    // Every API answer about this connector, as the client receives it.
    const answers = [
      created,
      await api.connectors.list({ orgId: org.id }),
      await api.connectors.get({ orgId: org.id, connectorId: created.id }),
      await api.connectors.retest({ orgId: org.id, connectorId: created.id }),
      await api.connectors.update({
        orgId: org.id,
        connectorId: created.id,
        label: "Renamed",
        region: "us-east-1",
        testBucket: testS3().bucket,
        credentials: null,
      }),
      await api.connectors.accessLog({ orgId: org.id, connectorId: created.id }),
      // Typed void today; checked like the others in case it ever answers with something.
      await api.connectors.disconnect({ orgId: org.id, connectorId: created.id }).then((answer: unknown) => answer),
    ];
    for (const answer of answers) {
      const wire = JSON.stringify(superjson.serialize(answer));
      expect(wire).not.toContain(SECRET);
      expect(wire).not.toContain(SESSION);
      expect(wire).not.toContain("sealedCredentials");
      expect(wire).not.toContain("wrappedKey");
    }
  });

  it.each([
    ["an unknown access key", { accessKeyId: "NOT-S3RVER" }, "accessKeyId", /access key/i],
    ["a bucket that does not exist", { testBucket: "no-such-bucket-here" }, "testBucket", /bucket/i],
    ["an endpoint nothing listens on", { endpoint: "http://127.0.0.1:9" }, "endpoint", /endpoint|reach|connect/i],
  ])("refuses %s with a field error and stores nothing", async (_what, overrides, field, message) => {
    const org = await createOrg();
    const error = await expectTRPCError(
      callerFor(org.owner).connectors.create(createInput(org.id, overrides)),
      "BAD_REQUEST",
    );
    expect((error.cause as { field?: string }).field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(SECRET);
    expect(await rowsOf(org.id)).toEqual([]);
  });

  it("refuses bad input before any S3 call", async () => {
    const org = await createOrg();
    await expectTRPCError(
      callerFor(org.owner).connectors.create(createInput(org.id, { testBucket: "Bad_Bucket" })),
      "BAD_REQUEST",
    );
    await expectTRPCError(
      callerFor(org.owner).connectors.create(createInput(org.id, { provider: "r2", endpoint: undefined })),
      "BAD_REQUEST",
    );
    await expectTRPCError(callerFor(org.owner).connectors.create(createInput(org.id, { label: "" })), "BAD_REQUEST");
    expect(await rowsOf(org.id)).toEqual([]);
  });

  it("re-test records who read the credentials and why, once per read", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const before = connector.lastCheckedAt!;
    const result = await callerFor(org.owner).connectors.retest({ orgId: org.id, connectorId: connector.id });
    expect(result.status).toBe("active");
    expect(result.lastCheckedAt!.getTime()).toBeGreaterThanOrEqual(before.getTime());
    const reads = await readsOf(connector.id);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ actorType: "user", actorId: org.owner.id, purpose: "re-test connector" });

    await readCredentials(db(), connector, { type: "job", name: "sync-source" }, "list objects");
    expect((await readsOf(connector.id)).map((r) => [r.actorType, r.actorId, r.purpose])).toEqual([
      ["user", org.owner.id, "re-test connector"],
      ["job", "sync-source", "list objects"],
    ]);
    const log = await callerFor(org.owner).connectors.accessLog({ orgId: org.id, connectorId: connector.id });
    expect(log.map((r) => r.actorName ?? r.actorId)).toEqual(["sync-source", org.owner.name]);
  });

  it("flips to invalid credentials with the reason when the stored credentials stop working", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    // The key is rotated at the provider: simulate by storing credentials the server no longer accepts.
    const revoked = await createConnectorRow(org.id);
    await db()
      .update(connectors)
      .set({ sealedCredentials: await sealCredentials(revoked, { accessKeyId: "ROTATED-AWAY", secretAccessKey: "x" }) })
      .where(eq(connectors.id, revoked.id));
    const result = await callerFor(org.owner).connectors.retest({ orgId: org.id, connectorId: revoked.id });
    expect(result.status).toBe("invalid_credentials");
    expect(result.lastError).toMatch(/access key/i);
    const ok = await callerFor(org.owner).connectors.retest({ orgId: org.id, connectorId: connector.id });
    expect(ok).toMatchObject({ status: "active", lastError: null });
  });

  it("records a failing check that is not about the credentials without flipping the status", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id, { testBucket: "bucket-gone-since" });
    const result = await callerFor(org.owner).connectors.retest({ orgId: org.id, connectorId: connector.id });
    expect(result.status).toBe("active");
    expect(result.lastError).toMatch(/bucket/i);
  });

  it("replaces credentials only after they validate; the old ones stay otherwise", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const api = callerFor(org.owner);
    const s3 = testS3();
    await expectTRPCError(
      api.connectors.update({
        orgId: org.id,
        connectorId: connector.id,
        label: "x",
        region: s3.region,
        testBucket: s3.bucket,
        credentials: { accessKeyId: "WRONG-KEY", secretAccessKey: "nope" },
      }),
      "BAD_REQUEST",
    );
    const [unchanged] = await rowsOf(org.id);
    expect(unchanged!.sealedCredentials).toEqual(connector.sealedCredentials);
    expect(unchanged!.label).toBe(connector.label);

    await api.connectors.update({
      orgId: org.id,
      connectorId: connector.id,
      label: "New keys",
      region: s3.region,
      testBucket: s3.bucket,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: SECRET },
    });
    const [replaced] = await rowsOf(org.id);
    expect(replaced!.label).toBe("New keys");
    expect(replaced!.sealedCredentials).not.toEqual(connector.sealedCredentials);
    expect((await readCredentials(db(), replaced!, { type: "job", name: "test" }, "check")).secretAccessKey).toBe(
      SECRET,
    );
  });

  it("disconnect wipes the credentials, emits the cascade event once, and cannot be repeated", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const events = recordingEvents();
    const api = callerFor(org.owner, { events });
    await api.connectors.disconnect({ orgId: org.id, connectorId: connector.id });
    const [row] = await rowsOf(org.id);
    expect(row).toMatchObject({ status: "disconnected", sealedCredentials: null });
    expect(row!.disconnectedAt).toBeInstanceOf(Date);
    expect(events.sent).toEqual([
      { name: "wire/connector.disconnected", data: { connectorId: connector.id, orgId: org.id } },
    ]);
    await expectTRPCError(api.connectors.disconnect({ orgId: org.id, connectorId: connector.id }), "CONFLICT");
    await expectTRPCError(api.connectors.retest({ orgId: org.id, connectorId: connector.id }), "CONFLICT");
    expect(events.sent).toHaveLength(1);
    expect(await readsOf(connector.id)).toEqual([]);
  });

  it("removes only a disconnected connector from the list, keeping the row and its access log", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const api = callerFor(org.owner, { events: recordingEvents() });
    await readCredentials(db(), connector, { type: "job", name: "test" }, "a read before removal");
    await expectTRPCError(api.connectors.remove({ orgId: org.id, connectorId: connector.id }), "CONFLICT");
    await api.connectors.disconnect({ orgId: org.id, connectorId: connector.id });
    await api.connectors.remove({ orgId: org.id, connectorId: connector.id });
    expect(await api.connectors.list({ orgId: org.id })).toEqual([]);
    const [row] = await rowsOf(org.id);
    expect(row!.removedAt).toBeInstanceOf(Date);
    expect(await readsOf(connector.id)).toHaveLength(1);
    expect(
      (await api.connectors.accessLog({ orgId: org.id, connectorId: connector.id })).map((r) => r.purpose),
    ).toEqual(["a read before removal"]);
    await expectTRPCError(api.connectors.remove({ orgId: org.id, connectorId: connector.id }), "CONFLICT");
  });

  it("lists the sources a connector feeds, naming only containers the viewer can see", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    const connector = await createConnectorRow(org.id);
    const [seen, hidden] = await Promise.all([
      createContainer(org.id, { name: "Visible box" }),
      createContainer(org.id, { name: "Secret box" }),
    ]);
    await grantAccess(seen.id, member.id, "view");
    await db()
      .insert(sources)
      .values([
        { containerId: seen.id, connectorId: connector.id, bucket: "b", prefix: "one/" },
        { containerId: hidden.id, connectorId: connector.id, bucket: "b", prefix: "two/" },
        { containerId: hidden.id, connectorId: connector.id, bucket: "b", prefix: "gone/", status: "archived" },
      ]);
    const [forMember] = await callerFor(member).connectors.list({ orgId: org.id });
    // Ordered by container name: "Secret box" comes first, unnamed for this member.
    expect(forMember!.feeds).toEqual([
      { bucket: "b", prefix: "two/", container: null },
      { bucket: "b", prefix: "one/", container: { id: seen.id, name: "Visible box" } },
    ]);
    expect(JSON.stringify(forMember)).not.toContain("Secret box");
    const forOwner = await callerFor(org.owner).connectors.get({ orgId: org.id, connectorId: connector.id });
    expect(forOwner.feeds.map((f) => f.container?.name)).toEqual(["Secret box", "Visible box"]);
  });
});

describe("connectors with prefix-scoped credentials", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("Connect, Re-test and Replace credentials list only under the test prefix (s3rver request log)", async () => {
    const org = await createOrg();
    const api = callerFor(org.owner);
    const s3 = testS3();
    const log: S3RequestRecord[] = [];
    stop = onS3Request((r) => log.push(r));
    const created = await api.connectors.create(createInput(org.id, { testPrefix: "reports/2026/" }));
    expect(created).toMatchObject({ status: "active", testPrefix: "reports/2026/" });
    await expect(api.connectors.retest({ orgId: org.id, connectorId: created.id })).resolves.toMatchObject({
      status: "active",
      lastError: null,
    });
    await api.connectors.update({
      orgId: org.id,
      connectorId: created.id,
      label: "New keys",
      region: s3.region,
      testBucket: s3.bucket,
      testPrefix: "reports/2026/",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: SECRET },
    });
    const listings = log.filter((r) => r.operation === "ListObjectsV2");
    expect(listings).toHaveLength(3);
    expect(listings.every((r) => r.prefix === "reports/2026/" && r.maxKeys === 1)).toBe(true);
    expect(log.filter((r) => r.operation !== "ListObjectsV2").map((r) => r.operation)).toEqual([
      "HeadBucket",
      "HeadBucket",
      "HeadBucket",
    ]);
    expect(log.filter((r) => !["GET", "HEAD"].includes(r.method))).toEqual([]);
  });

  describe("under Wire's minimal IAM policy (IAM simulated with aws-sdk-client-mock)", () => {
    const keys = ["reports/2026/q1.txt", "other/notes.txt"];
    const policyFor = (prefix: string) => minimalIamPolicy(testS3().bucket, prefix);

    it("Connect, Re-test and Replace credentials succeed with the policy's prefix as the test prefix", async () => {
      const stub = mockS3UnderPolicy(policyFor("reports/2026/"), keys);
      stop = () => stub.restore();
      const org = await createOrg();
      const api = callerFor(org.owner);
      const s3 = testS3();
      const created = await api.connectors.create(createInput(org.id, { testPrefix: "reports/2026/" }));
      expect(created.status).toBe("active");
      await expect(api.connectors.retest({ orgId: org.id, connectorId: created.id })).resolves.toMatchObject({
        status: "active",
        lastError: null,
      });
      const replaced = await api.connectors.update({
        orgId: org.id,
        connectorId: created.id,
        label: created.label,
        region: s3.region,
        testBucket: s3.bucket,
        testPrefix: "reports/2026/",
        credentials: { accessKeyId: "S3RVER", secretAccessKey: SECRET },
      });
      expect(replaced).toMatchObject({ status: "active", lastError: null });
      const prefixes = stub.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix);
      expect(prefixes).toEqual(["reports/2026/", "reports/2026/", "reports/2026/"]);
    });

    it("refuses, on the test prefix field, a prefix the policy does not cover and a missing one; nothing is stored", async () => {
      const stub = mockS3UnderPolicy(policyFor("reports/2026/"), keys);
      stop = () => stub.restore();
      const org = await createOrg();
      for (const testPrefix of ["other/", undefined]) {
        const error = await expectTRPCError(
          callerFor(org.owner).connectors.create(createInput(org.id, { testPrefix })),
          "BAD_REQUEST",
        );
        expect((error.cause as { field?: string }).field).toBe("testPrefix");
        expect(error.message).toMatch(
          testPrefix ? /may not read bucket .*prefix "other\/"/ : /may not list the whole bucket/,
        );
      }
      expect(await rowsOf(org.id)).toEqual([]);
    });

    it("Re-test: a refused root listing is not invalid credentials; a refused test prefix is", async () => {
      const stub = mockS3UnderPolicy(policyFor("reports/2026/"), keys);
      stop = () => stub.restore();
      const org = await createOrg();
      const [withoutPrefix, lostAccess] = await Promise.all([
        createConnectorRow(org.id),
        createConnectorRow(org.id, { testPrefix: "other/" }),
      ]);
      const api = callerFor(org.owner);
      const kept = await api.connectors.retest({ orgId: org.id, connectorId: withoutPrefix.id });
      expect(kept.status).toBe("active");
      expect(kept.lastError).toMatch(/may not list the whole bucket/);
      const flipped = await api.connectors.retest({ orgId: org.id, connectorId: lostAccess.id });
      expect(flipped.status).toBe("invalid_credentials");
      // Setting the test prefix the credentials are scoped to clears the error.
      const fixed = await api.connectors.update({
        orgId: org.id,
        connectorId: withoutPrefix.id,
        label: withoutPrefix.label,
        region: withoutPrefix.region,
        testBucket: withoutPrefix.testBucket,
        testPrefix: "reports/2026/",
        credentials: null,
      });
      expect(fixed).toMatchObject({ status: "active", lastError: null, testPrefix: "reports/2026/" });
    });
  });
});
