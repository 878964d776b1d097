/**
 * S3 calls of a sync, made with the source's connector: a client per use (its credentials unsealed and the
 * read logged), and failures sorted into what stops the run and what a retry may fix.
 */
import "server-only";
import type { S3Client } from "@aws-sdk/client-s3";
import type { DbOrTx } from "@/db/client";
import { mapS3Error } from "@/server/s3/errors";
import { connectorClient } from "@/server/services/connectors/client";
import { SyncRetry, SyncStop, type SourceWithConnector } from "./runs";

/** Who reads the connector's credentials for a sync, in the credential access log. */
const SYNC_ACTOR = { type: "job", name: "sync-source" } as const;

export async function withSourceClient<T>(
  db: DbOrTx,
  row: SourceWithConnector,
  purpose: string,
  work: (client: S3Client) => Promise<T>,
) {
  const client = await connectorClient(db, row.connector, SYNC_ACTOR, purpose);
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}

/**
 * Runs an S3 call of the sync. Credential failures stop the run and flip the connector to invalid
 * credentials; a missing bucket, a wrong region or a refused endpoint stop it too; anything else (5xx,
 * timeouts, the network) is thrown for the step to retry, in words (the message the source shows if the
 * retries run out, e.g. an unreachable endpoint and what to check) with the SDK's error as its cause.
 */
export async function s3Call<T>(row: SourceWithConnector, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const mapped = mapS3Error(error, {
      bucket: row.source.bucket,
      region: row.connector.region,
      endpoint: row.connector.endpoint,
      prefix: row.source.prefix,
    });
    if (mapped.kind === "invalid_credentials" || mapped.kind === "access_denied")
      throw new SyncStop(mapped.message, true);
    if (mapped.kind === "bucket_not_found" || mapped.kind === "wrong_region" || mapped.kind === "endpoint_not_allowed")
      throw new SyncStop(mapped.message);
    throw new SyncRetry(mapped.message, { cause: error });
  }
}
