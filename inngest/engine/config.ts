/**
 * Which engine runs Wire's functions. With any INNGEST_* variable set, a real Inngest does (Dev Server,
 * self-hosted or Cloud) and the SDK reads those variables itself; otherwise the embedded engine does,
 * with signing and event keys generated into WIRE_DATA_DIR/secrets.
 */
import "server-only";
import { createHmac } from "node:crypto";
import { env } from "@/server/env";
import { readOrCreateSecret } from "@/server/local-secrets";

export type EngineMode = "embedded" | "inngest";

export function engineMode(): EngineMode {
  const config = env();
  const external =
    config.INNGEST_DEV || config.INNGEST_BASE_URL || config.INNGEST_SIGNING_KEY || config.INNGEST_EVENT_KEY;
  return external ? "inngest" : "embedded";
}

export interface EngineKeys {
  signingKey: string;
  eventKey: string;
}

export function embeddedEngineKeys(dataDir = env().dataDir): EngineKeys {
  const secret = readOrCreateSecret(dataDir, "engine-secret");
  const derive = (label: string) => createHmac("sha256", secret).update(label).digest("hex");
  return { signingKey: `signkey-prod-${derive("signing")}`, eventKey: derive("event") };
}

export function embeddedEngineBaseUrl(port = env().WIRE_ENGINE_PORT): string {
  return `http://127.0.0.1:${port}`;
}

/** Options for `new Inngest(...)` that point the SDK at the embedded engine. */
export function embeddedClientOptions(keys: EngineKeys, port?: number) {
  return {
    baseUrl: embeddedEngineBaseUrl(port),
    signingKey: keys.signingKey,
    eventKey: keys.eventKey,
    isDev: false,
    // The embedded engine speaks the classic request/response loop, not the checkpoint API.
    checkpointing: false,
  } as const;
}
