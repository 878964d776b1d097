import type { Engine } from "./engine";
import { engineMode, type EngineMode } from "./engine-config";

const holder = globalThis as unknown as { __wireEngine?: Engine };

/** Remembers the engine this process started, for status reports and shutdown. */
export function setRunningEngine(engine: Engine | undefined) {
  holder.__wireEngine = engine;
}

export function runningEngine(): Engine | undefined {
  return holder.__wireEngine;
}

/**
 * What /api/health reports. With a real Inngest the app cannot see the engine; it reports the mode only.
 * The embedded engine is ready once the app's functions are registered with it.
 */
export function engineStatus(): { mode: EngineMode; ready: boolean | null; functions?: number; error?: string | null } {
  const mode = engineMode();
  if (mode === "inngest") return { mode, ready: null };
  const engine = runningEngine();
  return { mode, ready: engine?.state.ready ?? false, functions: engine?.state.functions ?? 0, error: engine?.state.error ?? null };
}
