import "server-only";
import { engineMode, type EngineMode } from "./config";
import type { Engine } from "./index";
import { queueStats, type QueueStats } from "./queue";
import type { Sql } from "./sql";

const holder = globalThis as unknown as { __wireEngine?: Engine };

/** Remembers the engine this process started, for status reports and shutdown. */
export function setRunningEngine(engine: Engine | undefined) {
  holder.__wireEngine = engine;
}

export function runningEngine(): Engine | undefined {
  return holder.__wireEngine;
}

/** A job due this long with a free slot and no worker taking it means the queue is not moving. */
export const DEGRADED_AFTER_MS = 120_000;

export type QueueHealth = QueueStats & { degraded: boolean; reasons: string[] };

/**
 * The queue as operators need to see it: what waits, for how long, what runs, and whether that is
 * healthy. Jobs waiting for a concurrency slot are counted apart: a burst into a limited function waits
 * by design, while a job with a free slot that nobody takes does not.
 */
export async function queueHealth(sql: Sql, degradedAfterMs = DEGRADED_AFTER_MS): Promise<QueueHealth> {
  const stats = await queueStats(sql);
  const reasons: string[] = [];
  if (stats.oldestDueMs > degradedAfterMs) {
    reasons.push(
      `${stats.due} job(s) due with a free slot; the oldest has waited ${Math.round(stats.oldestDueMs / 1000)} s for a worker`,
    );
  }
  if (stats.expiredLeases > 0 && stats.oldestDueMs > degradedAfterMs) {
    reasons.push(`${stats.expiredLeases} lease(s) expired and not taken over: no live worker is claiming jobs`);
  }
  return { ...stats, degraded: reasons.length > 0, reasons };
}

export interface EngineStatus {
  mode: EngineMode;
  ready: boolean | null;
  functions?: number;
  error?: string | null;
  queue?: QueueHealth;
}

/**
 * What /api/health reports. With a real Inngest the app cannot see the engine; it reports the mode only.
 * The embedded engine is ready once the app's functions are registered with it, and degraded when its
 * queue stops moving.
 */
export async function engineStatus(): Promise<EngineStatus> {
  const mode = engineMode();
  if (mode === "inngest") return { mode, ready: null };
  const engine = runningEngine();
  if (!engine) return { mode, ready: false, functions: 0, error: null };
  const queue = await queueHealth(engine.sql).catch(() => undefined);
  return { mode, ready: engine.state.ready, functions: engine.state.functions, error: engine.state.error, queue };
}
