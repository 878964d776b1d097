/**
 * The only way connector credentials come out of their seal. Every read writes a credential_reads row
 * (who or which job, and why) before the plaintext exists; nothing here is ever returned by an API.
 */
import "server-only";
import type { DbOrTx } from "@/db/client";
import { credentialReads } from "@/db/schema";
import { seal, unseal, type SealedSecret } from "@/server/crypto/envelope";
import { AppError } from "@/server/errors";
import { defined } from "@/server/defined";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialActor = { type: "user"; userId: string } | { type: "job"; name: string };

interface SealedConnector {
  id: string;
  orgId: string;
  sealedCredentials: unknown;
}

/** Binds the ciphertext to its connector: it cannot be moved to another row. */
function sealContext(connector: { id: string; orgId: string }) {
  return { connectorId: connector.id, orgId: connector.orgId };
}

export function sealCredentials(
  connector: { id: string; orgId: string },
  credentials: S3Credentials,
): Promise<SealedSecret> {
  const plain: Record<string, string> = {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
  };
  if (credentials.sessionToken) plain.sessionToken = credentials.sessionToken;
  return seal(plain, sealContext(connector));
}

export async function readCredentials(
  db: DbOrTx,
  connector: SealedConnector,
  actor: CredentialActor,
  purpose: string,
): Promise<S3Credentials> {
  if (!connector.sealedCredentials)
    throw new AppError("CONFLICT", "This connector is disconnected; its credentials are gone.");
  await db.insert(credentialReads).values({
    connectorId: connector.id,
    actorType: actor.type,
    actorId: actor.type === "user" ? actor.userId : actor.name,
    purpose,
  });
  const plain = await unseal(connector.sealedCredentials as SealedSecret, sealContext(connector));
  return {
    accessKeyId: defined(plain.accessKeyId, `connector ${connector.id}'s access key id`),
    secretAccessKey: defined(plain.secretAccessKey, `connector ${connector.id}'s secret access key`),
    ...(plain.sessionToken ? { sessionToken: plain.sessionToken } : {}),
  };
}
