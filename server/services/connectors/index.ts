/**
 * Org-level S3 connectors: validated against their test bucket before anything is stored, credentials
 * sealed at rest and never returned, re-tested on demand, disconnected with a cascade event.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, isNull, ne } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { connectors, containerAccess, containers, credentialReads, sources, users } from "@/db/schema";
import { connectorDisconnected } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import { AppError, notFound } from "@/server/errors";
import { containerLevel, type OrgRole } from "@/server/permissions";
import { S3AccessError } from "@/server/s3/errors";
import { validateConnection } from "@/server/s3/validate";
import { readCredentials, sealCredentials, type CredentialActor, type S3Credentials } from "./credentials";
import type { ProviderId } from "./providers";
import { defined } from "@/server/defined";

/** What anyone in the org may see of a connector: everything but the credentials. */
const publicColumns = {
  id: connectors.id,
  label: connectors.label,
  provider: connectors.provider,
  endpoint: connectors.endpoint,
  region: connectors.region,
  testBucket: connectors.testBucket,
  testPrefix: connectors.testPrefix,
  status: connectors.status,
  lastCheckedAt: connectors.lastCheckedAt,
  lastError: connectors.lastError,
  createdAt: connectors.createdAt,
  disconnectedAt: connectors.disconnectedAt,
  removedAt: connectors.removedAt,
};

export type ConnectorView = { [K in keyof typeof publicColumns]: (typeof connectors.$inferSelect)[K] };

interface Viewer {
  userId: string;
  role: OrgRole;
}

export interface SourceFed {
  bucket: string;
  prefix: string;
  /** Null when the viewer cannot see that container: they learn a source exists, not where. */
  container: { id: string; name: string } | null;
}

/** The sources each connector feeds, naming only the containers the viewer can see. */
async function feeds(db: DbOrTx, connectorIds: string[], viewer: Viewer): Promise<Map<string, SourceFed[]>> {
  const result = new Map<string, SourceFed[]>(connectorIds.map((id) => [id, []]));
  if (!connectorIds.length) return result;
  const rows = await db
    .select({
      connectorId: sources.connectorId,
      bucket: sources.bucket,
      prefix: sources.prefix,
      containerId: containers.id,
      containerName: containers.name,
      grant: containerAccess.level,
    })
    .from(sources)
    .innerJoin(containers, eq(containers.id, sources.containerId))
    .leftJoin(
      containerAccess,
      and(eq(containerAccess.containerId, containers.id), eq(containerAccess.userId, viewer.userId)),
    )
    .where(and(inArray(sources.connectorId, connectorIds), ne(sources.status, "archived")))
    .orderBy(containers.name, sources.bucket, sources.prefix);
  for (const row of rows) {
    const visible = containerLevel(viewer.role, row.grant) !== null;
    result.get(row.connectorId)?.push({
      bucket: row.bucket,
      prefix: row.prefix,
      container: visible ? { id: row.containerId, name: row.containerName } : null,
    });
  }
  return result;
}

export async function listConnectors(db: DbOrTx, params: { orgId: string; viewer: Viewer }) {
  const rows = await db
    .select(publicColumns)
    .from(connectors)
    .where(and(eq(connectors.orgId, params.orgId), isNull(connectors.removedAt)))
    .orderBy(desc(connectors.createdAt));
  const fed = await feeds(
    db,
    rows.map((r) => r.id),
    params.viewer,
  );
  return rows.map((row) => ({ ...row, feeds: fed.get(row.id) ?? [] }));
}

export async function getConnector(db: DbOrTx, params: { orgId: string; connectorId: string; viewer: Viewer }) {
  const [row] = await db
    .select(publicColumns)
    .from(connectors)
    .where(and(eq(connectors.id, params.connectorId), eq(connectors.orgId, params.orgId)));
  if (!row) throw notFound("Connector");
  const fed = await feeds(db, [row.id], params.viewer);
  return { ...row, feeds: fed.get(row.id) ?? [] };
}

async function loadSealed(db: DbOrTx, params: { orgId: string; connectorId: string }) {
  const [row] = await db
    .select()
    .from(connectors)
    .where(and(eq(connectors.id, params.connectorId), eq(connectors.orgId, params.orgId)));
  if (!row) throw notFound("Connector");
  return row;
}

/** Turns an S3 failure into a form error on the field the user has to fix. */
function toAppError(error: unknown): never {
  if (error instanceof S3AccessError) throw new AppError("BAD_REQUEST", error.message, error.field ?? undefined);
  throw error;
}

export interface ConnectorInput {
  label: string;
  provider: ProviderId;
  endpoint: string | null;
  region: string;
  testBucket: string;
  /** Where validation lists in the test bucket; "" for the whole bucket. */
  testPrefix: string;
}

/** The one validation rule for Connect, Replace credentials and Re-test: list under the test prefix only. */
function validate(
  connector: { endpoint: string | null; region: string; testBucket: string; testPrefix: string },
  credentials: S3Credentials,
) {
  return validateConnection({
    endpoint: connector.endpoint,
    region: connector.region,
    credentials,
    bucket: connector.testBucket,
    ...(connector.testPrefix ? { prefix: connector.testPrefix } : {}),
  });
}

export async function createConnector(
  db: DbOrTx,
  params: { orgId: string; userId: string; input: ConnectorInput; credentials: S3Credentials },
): Promise<ConnectorView> {
  const { input } = params;
  await validate(input, params.credentials).catch(toAppError);
  const id = randomUUID();
  const sealedCredentials = await sealCredentials({ id, orgId: params.orgId }, params.credentials);
  const [row] = await db
    .insert(connectors)
    .values({
      id,
      orgId: params.orgId,
      ...input,
      sealedCredentials,
      createdBy: params.userId,
      lastCheckedAt: new Date(),
    })
    .returning(publicColumns);
  return defined(row, "the created connector");
}

/**
 * Edits label, test bucket, test prefix and region, and optionally replaces the credentials. Anything that changes how
 * Wire reaches the bucket is validated first, with the new credentials or (unsealed, logged) the stored ones.
 */
export async function updateConnector(
  db: DbOrTx,
  params: {
    orgId: string;
    connectorId: string;
    userId: string;
    changes: { label: string; region: string; testBucket: string; testPrefix: string };
    credentials: S3Credentials | null;
  },
): Promise<ConnectorView> {
  const current = await loadSealed(db, params);
  if (current.status === "disconnected")
    throw new AppError("CONFLICT", "This connector is disconnected. Add a new connector instead.");
  const reachChanged =
    params.credentials !== null ||
    params.changes.region !== current.region ||
    params.changes.testBucket !== current.testBucket ||
    params.changes.testPrefix !== current.testPrefix;
  let sealedCredentials = current.sealedCredentials;
  if (reachChanged) {
    const credentials =
      params.credentials ??
      (await readCredentials(db, current, { type: "user", userId: params.userId }, "validate connector changes"));
    await validate({ ...current, ...params.changes }, credentials).catch(toAppError);
    if (params.credentials) sealedCredentials = await sealCredentials(current, params.credentials);
  }
  const [row] = await db
    .update(connectors)
    .set({
      ...params.changes,
      sealedCredentials,
      ...(reachChanged ? { status: "active" as const, lastCheckedAt: new Date(), lastError: null } : {}),
      updatedAt: new Date(),
    })
    .where(and(eq(connectors.id, current.id), eq(connectors.orgId, params.orgId)))
    .returning(publicColumns);
  return defined(row, "the updated connector");
}

const CREDENTIAL_FAILURES = new Set(["invalid_credentials", "access_denied"]);

/**
 * Validates the stored credentials again, by the same rule as Connect. Credentials that no longer work (or
 * may no longer read the test prefix) flip the connector to invalid_credentials with the reason; other
 * failures (bucket gone, endpoint down, a refused bucket-root listing) are recorded as the last error without
 * blaming the credentials.
 */
export async function retestConnector(
  db: DbOrTx,
  params: { orgId: string; connectorId: string; actor: CredentialActor },
): Promise<ConnectorView> {
  const current = await loadSealed(db, params);
  if (current.status === "disconnected")
    throw new AppError("CONFLICT", "This connector is disconnected; there is nothing to test.");
  const credentials = await readCredentials(db, current, params.actor, "re-test connector");
  const failure = await validate(current, credentials).then(
    () => null,
    (error: unknown) => {
      if (error instanceof S3AccessError) return error;
      throw error;
    },
  );
  const [row] = await db
    .update(connectors)
    .set({
      lastCheckedAt: new Date(),
      lastError: failure?.message ?? null,
      status:
        failure && CREDENTIAL_FAILURES.has(failure.kind) ? "invalid_credentials" : failure ? current.status : "active",
    })
    .where(and(eq(connectors.id, current.id), eq(connectors.orgId, params.orgId)))
    .returning(publicColumns);
  return defined(row, "the checked connector");
}

/** Wipes the sealed credentials for good and asks every source the connector fed to be cleaned up. */
export async function disconnectConnector(
  db: DbOrTx,
  events: EventOutbox,
  params: { orgId: string; connectorId: string },
) {
  const row = await db.transaction(async (tx) => {
    const [disconnected] = await tx
      .update(connectors)
      .set({ status: "disconnected", sealedCredentials: null, disconnectedAt: new Date(), updatedAt: new Date() })
      .where(
        and(
          eq(connectors.id, params.connectorId),
          eq(connectors.orgId, params.orgId),
          ne(connectors.status, "disconnected"),
        ),
      )
      .returning({ id: connectors.id });
    if (disconnected)
      await events.record(tx, [connectorDisconnected.create({ connectorId: disconnected.id, orgId: params.orgId })]);
    return disconnected;
  });
  if (!row) {
    await loadSealed(db, params); // NOT_FOUND when it is not this org's
    throw new AppError("CONFLICT", "This connector is already disconnected.");
  }
  await events.flush();
}

/**
 * Takes a disconnected connector off the list. Only disconnected ones: an active connector still feeds
 * sources. The row and its credential access log stay, for the audit trail.
 */
export async function removeConnector(db: DbOrTx, params: { orgId: string; connectorId: string }) {
  const [row] = await db
    .update(connectors)
    .set({ removedAt: new Date(), updatedAt: new Date() })
    .where(
      and(
        eq(connectors.id, params.connectorId),
        eq(connectors.orgId, params.orgId),
        eq(connectors.status, "disconnected"),
        isNull(connectors.removedAt),
      ),
    )
    .returning({ id: connectors.id });
  if (row) return;
  const current = await loadSealed(db, params); // NOT_FOUND when it is not this org's
  throw new AppError(
    "CONFLICT",
    current.removedAt
      ? "This connector was already removed from the list."
      : "Disconnect this connector before removing it from the list.",
  );
}

export async function listCredentialReads(db: DbOrTx, params: { orgId: string; connectorId: string; limit?: number }) {
  await loadSealed(db, params); // NOT_FOUND for another org's connector
  return db
    .select({
      id: credentialReads.id,
      at: credentialReads.at,
      actorType: credentialReads.actorType,
      actorId: credentialReads.actorId,
      actorName: users.name,
      actorEmail: users.email,
      purpose: credentialReads.purpose,
    })
    .from(credentialReads)
    .leftJoin(users, and(eq(credentialReads.actorType, "user"), eq(users.id, credentialReads.actorId)))
    .where(eq(credentialReads.connectorId, params.connectorId))
    .orderBy(desc(credentialReads.id))
    .limit(params.limit ?? 100);
}
