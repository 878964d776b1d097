/**
 * The app's background half in a process of its own, for crash tests: the real functions and the embedded
 * engine and the outbox relay, configured from the environment (DATABASE_URL, WIRE_DATA_DIR, WIRE_ENGINE_PORT, APP_PORT).
 */
import { embeddedEngineKeys } from "@/inngest/engine/config";
import { serveWithEngine } from "@/inngest/engine/test/child-process";
import { functions } from "@/inngest/functions";
import { eventOutbox } from "@/inngest/outbox";
import { env } from "@/server/env";

await serveWithEngine({
  functions,
  databaseUrl: env().DATABASE_URL!,
  enginePort: env().WIRE_ENGINE_PORT,
  appPort: Number(process.env.APP_PORT),
  keys: embeddedEngineKeys(),
});
// As at boot: whatever a killed process recorded and never relayed goes out now.
eventOutbox().start(500);
