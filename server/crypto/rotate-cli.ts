/**
 * Rotates the key-encryption key and re-wraps every connector's sealed credentials under it:
 *   npm run keys:rotate
 * Runs against the app's database (DATABASE_URL, or the embedded PostgreSQL of a running Wire) and the
 * configured KMS provider (the local key file, or AWS KMS when WIRE_KMS_AWS_KEY_ID is set).
 */
import "server-only";
import { closeDb, getDb } from "@/db/client";
import { kmsProvider } from "./kms";
import { rotateKeys } from "./rotate";

async function main(): Promise<number> {
  const kms = kmsProvider();
  const result = await rotateKeys(getDb(), kms);
  console.log(`Key-encryption key is now ${result.kekId} (${kms.name}).`);
  console.log(`Re-wrapped ${result.rewrapped} connector credential${result.rewrapped === 1 ? "" : "s"}.`);
  for (const failure of result.failed)
    console.error(`Could not re-wrap connector ${failure.connectorId}: ${failure.error}`);
  return result.failed.length ? 1 : 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => closeDb());
