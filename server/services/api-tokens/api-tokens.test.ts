import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { apiTokens } from "@/db/schema";
import { expectAppError, expectTRPCError } from "@/server/test/expect";
import { callerFor, createContainer, createOrg } from "@/server/test/factories";
import { authenticateApiToken, createApiToken, listApiTokens, revokeApiToken } from ".";

const db = () => getDb();

async function setup() {
  const org = await createOrg();
  const [a, b] = await Promise.all([createContainer(org.id), createContainer(org.id)]);
  return { org, a, b };
}

describe("API tokens", () => {
  it("authenticates a new token to its container", async () => {
    const { org, a } = await setup();
    const created = await createApiToken(db(), { containerId: a.id, name: "Agent", createdBy: org.owner.id });
    expect(created.token).toMatch(/^wire_[A-Za-z0-9_-]{43}$/);
    expect(await authenticateApiToken(db(), created.token)).toEqual({ tokenId: created.id, containerId: a.id });
    const [listed] = await listApiTokens(db(), a.id);
    expect(listed).toMatchObject({ id: created.id, name: "Agent", displayPrefix: created.token.slice(0, 11) });
    expect(listed!.lastUsedAt).toBeInstanceOf(Date);
  });

  it("does not authenticate unknown, malformed or revoked tokens", async () => {
    const { org, a } = await setup();
    const created = await createApiToken(db(), { containerId: a.id, name: "Agent", createdBy: org.owner.id });
    expect(await authenticateApiToken(db(), "wire_not-a-real-token")).toBeNull();
    expect(await authenticateApiToken(db(), created.token.slice(5))).toBeNull();
    expect(await authenticateApiToken(db(), `${created.token}x`)).toBeNull();

    await revokeApiToken(db(), { containerId: a.id, tokenId: created.id });
    expect(await authenticateApiToken(db(), created.token)).toBeNull();
    expect(await listApiTokens(db(), a.id)).toEqual([]);
    // Revoking twice: it is already gone.
    await expectAppError(revokeApiToken(db(), { containerId: a.id, tokenId: created.id }), "NOT_FOUND");
  });

  it("cannot revoke a token of container A through container B (NOT_FOUND)", async () => {
    const { org, a, b } = await setup();
    const created = await createApiToken(db(), { containerId: a.id, name: "Agent", createdBy: org.owner.id });
    await expectAppError(revokeApiToken(db(), { containerId: b.id, tokenId: created.id }), "NOT_FOUND");
    await expectTRPCError(
      callerFor(org.owner).apiTokens.revoke({ containerId: b.id, tokenId: created.id }),
      "NOT_FOUND",
    );
    expect(await authenticateApiToken(db(), created.token)).toEqual({ tokenId: created.id, containerId: a.id });
    expect(await listApiTokens(db(), b.id)).toEqual([]);
  });

  it("stores only a hash of the token", async () => {
    const { org, a } = await setup();
    const created = await callerFor(org.owner).apiTokens.create({ containerId: a.id, name: "Agent" });
    const [row] = await db().select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row!.tokenHash).toBe(createHash("sha256").update(created.token).digest("hex"));
    // Nowhere in any column of any row, not even partially beyond the short display prefix.
    const [{ n }] = (await db().execute(
      sql`select count(*)::int as n from ${apiTokens} t where t::text like ${`%${created.token.slice(12)}%`}`,
    )) as unknown as [{ n: number }];
    expect(n).toBe(0);
    expect(JSON.stringify(row)).not.toContain(created.token);
    // The API never hands the token out again.
    expect(JSON.stringify(await callerFor(org.owner).apiTokens.list({ containerId: a.id }))).not.toContain(
      created.token.slice(12),
    );
  });
});
