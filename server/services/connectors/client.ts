import "server-only";
import type { S3Client } from "@aws-sdk/client-s3";
import type { DbOrTx } from "@/db/client";
import { createS3Client } from "@/server/s3/client";
import { readCredentials, type CredentialActor } from "./credentials";

/** An S3 client with the connector's credentials; unsealing them is logged with `actor` and `purpose`. */
export async function connectorClient(
  db: DbOrTx,
  connector: { id: string; orgId: string; sealedCredentials: unknown; endpoint: string | null; region: string },
  actor: CredentialActor,
  purpose: string,
): Promise<S3Client> {
  const credentials = await readCredentials(db, connector, actor, purpose);
  return createS3Client({ endpoint: connector.endpoint, region: connector.region, credentials });
}
