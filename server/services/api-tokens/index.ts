/**
 * Container-scoped API tokens for agents. A token is shown once; only its SHA-256 is stored, so a
 * database leak does not leak usable tokens. A token never does more than its creator may do now.
 */
import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { apiTokens, containerAccess, containers, members } from "@/db/schema";
import { AppError, notFound } from "@/server/errors";
import { containerLevel, levelAllows } from "@/server/permissions";
import { defined } from "@/server/defined";

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
  return { ...defined(row, "the created API token"), token };
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
    .where(
      and(eq(apiTokens.id, params.tokenId), eq(apiTokens.containerId, params.containerId), isNull(apiTokens.revokedAt)),
    )
    .returning({ id: apiTokens.id });
  if (!revoked.length) throw notFound("API token");
}

/**
 * The container a live token opens, or null for an unknown or revoked token. A token acts with its creator's
 * rights as they are now, checked on every use: when the creator has left the organization, or no longer has
 * edit access to the container, the token is refused (FORBIDDEN) until those rights come back.
 */
export async function authenticateApiToken(
  db: DbOrTx,
  token: string,
): Promise<{ tokenId: string; containerId: string } | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
      containerId: apiTokens.containerId,
      role: members.role,
      grant: containerAccess.level,
    })
    .from(apiTokens)
    .innerJoin(containers, eq(containers.id, apiTokens.containerId))
    .leftJoin(members, and(eq(members.orgId, containers.orgId), eq(members.userId, apiTokens.createdBy)))
    .leftJoin(
      containerAccess,
      and(eq(containerAccess.containerId, apiTokens.containerId), eq(containerAccess.userId, apiTokens.createdBy)),
    )
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!row) return null;
  const level = row.role ? containerLevel(row.role, row.grant) : null;
  if (!level || !levelAllows(level, "edit")) {
    throw new AppError(
      "FORBIDDEN",
      "This token's creator no longer has edit access to this container, so the token no longer works.",
    );
  }
  await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
  return { tokenId: row.tokenId, containerId: row.containerId };
}
