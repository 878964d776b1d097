import "server-only";
import { Inngest } from "inngest";
import { embeddedClientOptions, embeddedEngineKeys, engineMode } from "./engine/config";

// `next build` imports this module; it must not create secrets on the build machine.
const building = process.env.NEXT_PHASE === "phase-production-build";

export const inngest = new Inngest({
  id: "wire",
  ...(engineMode() === "embedded" && !building ? embeddedClientOptions(embeddedEngineKeys()) : {}),
});
