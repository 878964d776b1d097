/**
 * Key rotation. With the local provider a new KEK is added to the key file and made current (old keys stay,
 * so records not yet re-wrapped keep opening); with AWS KMS, KMS rotates its own key material and we only
 * re-wrap. Then every connector's data key is re-wrapped under the current KEK, one guarded statement per
 * row, so a rotation racing a credential update or a disconnect never overwrites the newer value.
 */
import "server-only";
import { and, asc, eq, gt, isNotNull, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { connectors } from "@/db/schema";
import { parseSealedSecret, rewrap, SealError } from "./envelope";
import { kmsProvider, LocalKmsProvider, type KmsProvider } from "./kms";

export interface RotationResult {
  /** Connectors whose sealed credentials now carry the current KEK. */
  rewrapped: number;
  /** The KEK everything was re-wrapped under. */
  kekId: string;
  /** Connectors that could not be re-wrapped (their credentials do not open); the message is a SealError's. */
  failed: { connectorId: string; error: string }[];
}

const BATCH = 100;
const ATTEMPTS = 3;

export async function rotateKeys(db: Database, kms: KmsProvider = kmsProvider()): Promise<RotationResult> {
  const kekId = kms instanceof LocalKmsProvider ? await kms.rotate() : await kms.currentKekId();
  const result: RotationResult = { rewrapped: 0, kekId, failed: [] };
  let after: string | undefined;
  for (;;) {
    const rows = await db
      .select({ id: connectors.id, orgId: connectors.orgId, sealed: connectors.sealedCredentials })
      .from(connectors)
      .where(and(isNotNull(connectors.sealedCredentials), after === undefined ? undefined : gt(connectors.id, after)))
      .orderBy(asc(connectors.id))
      .limit(BATCH);
    for (const row of rows) {
      try {
        const outcome = await rewrapRow(db, kms, row);
        if (outcome === "rewrapped") result.rewrapped++;
        if (outcome === "busy") {
          result.failed.push({
            connectorId: row.id,
            error: "Its credentials kept changing during rotation; run the rotation again",
          });
        }
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        result.failed.push({ connectorId: row.id, error: error.message });
      }
    }
    const last = rows.at(-1);
    if (rows.length < BATCH || !last) return result;
    after = last.id;
  }
}

/** "gone": disconnected or deleted meanwhile; "busy": changed under us on every attempt. */
async function rewrapRow(
  db: Database,
  kms: KmsProvider,
  row: { id: string; orgId: string; sealed: unknown },
): Promise<"rewrapped" | "gone" | "busy"> {
  const context = { connectorId: row.id, orgId: row.orgId };
  let current = row.sealed;
  for (let attempt = 1; ; attempt++) {
    const next = await rewrap(parseSealedSecret(current), context, kms);
    const updated = await db
      .update(connectors)
      .set({ sealedCredentials: next })
      .where(and(eq(connectors.id, row.id), sql`${connectors.sealedCredentials} = ${JSON.stringify(current)}::jsonb`))
      .returning({ id: connectors.id });
    if (updated.length > 0) return "rewrapped";
    // Changed since we read it (new credentials, or disconnected): look again.
    const [fresh] = await db
      .select({ sealed: connectors.sealedCredentials })
      .from(connectors)
      .where(eq(connectors.id, row.id));
    if (!fresh || fresh.sealed === null) return "gone";
    if (attempt >= ATTEMPTS) return "busy";
    current = fresh.sealed;
  }
}
