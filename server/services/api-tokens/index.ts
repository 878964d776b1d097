/**
 * Container-scoped API tokens for agents. A token is shown once; only its SHA-256 is stored, so a
 * database leak does not leak usable tokens.
 */
import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { apiTokens } from "@/db/schema";
import { notFound } from "@/server/errors";

const TOKEN_PREFIX = "wire_";

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(db: DbOrTx, params: { containerId: string; name: string; createdBy: string }) {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const [row] = await db
    .insert(apiTokens)
    .values({
      containerId: params.containerId,
      name: params.name,
      tokenHash: hashToken(token),
      displayPrefix: token.slice(0, TOKEN_PREFIX.length + 6),
      createdBy: params.createdBy,
    })
    .returning({ id: apiTokens.id, name: apiTokens.name, createdAt: apiTokens.createdAt });
  return { ...row!, token };
}

export function listApiTokens(db: DbOrTx, containerId: string) {
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      displayPrefix: apiTokens.displayPrefix,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(and(eq(apiTokens.containerId, containerId), isNull(apiTokens.revokedAt)))
    .orderBy(desc(apiTokens.createdAt));
}

export async function revokeApiToken(db: DbOrTx, params: { containerId: string; tokenId: string }) {
  const revoked = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, params.tokenId), eq(apiTokens.containerId, params.containerId), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  if (!revoked.length) throw notFound("API token");
}

/** The container a live token grants, or null for an unknown or revoked token. */
export async function authenticateApiToken(db: DbOrTx, token: string): Promise<{ tokenId: string; containerId: string } | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const [row] = await db
    .update(apiTokens)
    .set({ lastUsedAt: new Date() })
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)))
    .returning({ tokenId: apiTokens.id, containerId: apiTokens.containerId });
  return row ?? null;
}
