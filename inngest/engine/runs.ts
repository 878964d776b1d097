/**
 * Creating and ending runs. A run's concurrency slot lives on its jobs (see queue.ts), so ending a run
 * needs no slot bookkeeping: deleting its jobs frees whatever they held.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import type { engineRuns } from "@/db/schema";
import { valueAt } from "./expressions";
import { byteLength } from "./limits";
import { enqueueJobs, NOTIFY_CHANNEL } from "./queue";
import type { CompiledFunction } from "./registry";
import { date, json, type Sql } from "./sql";
import { defined } from "@/server/defined";

export interface EngineEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
  user?: Record<string, unknown> | null;
  ts: number;
  v?: string;
}

export type Run = typeof engineRuns.$inferSelect;

/** One saved step as the SDK gets it back: its hashed id and `{ data }` or `{ error }`. */
export interface MemoEntry {
  id: string;
  result: unknown;
}

export const ACTIVE_STATUSES = ["queued", "running"] as const;
export const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

export type RunOutcome = { status: "completed"; output: unknown } | { status: "failed" | "cancelled"; error: unknown };

export interface RunRow {
  id: string;
  function_id: string;
  event_id: string;
  event: unknown;
  status: Run["status"];
  concurrency_key: string | null;
  version: number;
  output: unknown;
  error: unknown;
  replay_of: string | null;
  step_count: number;
  state_bytes: string | number;
  created_at: string | Date;
  started_at: string | Date | null;
  ended_at: string | Date | null;
}

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    functionId: row.function_id,
    eventId: row.event_id,
    event: row.event,
    status: row.status,
    concurrencyKey: row.concurrency_key,
    version: row.version,
    output: row.output,
    error: row.error,
    replayOf: row.replay_of,
    stepCount: row.step_count,
    stateBytes: Number(row.state_bytes),
    createdAt: date(row.created_at),
    startedAt: row.started_at ? date(row.started_at) : null,
    endedAt: row.ended_at ? date(row.ended_at) : null,
  };
}

/** The slot fields every job of a run carries. */
export function slotOf(fn: CompiledFunction, event: EngineEvent) {
  return {
    functionId: fn.id,
    concurrencyKey: fn.concurrency?.keyPath ? JSON.stringify(valueAt(event, fn.concurrency.keyPath) ?? null) : null,
    concurrencyLimit: fn.concurrency?.limit ?? null,
  };
}

/** Starts one run per (function, event): a run row and its first job, in the caller's transaction. */
export async function createRuns(
  sql: Sql,
  starts: { fn: CompiledFunction; event: EngineEvent; replayOf?: string }[],
): Promise<string[]> {
  if (!starts.length) return [];
  const rows = starts.map(({ fn, event, replayOf }) => ({
    id: randomUUID(),
    fn,
    event,
    replayOf,
    slot: slotOf(fn, event),
  }));
  await sql`insert into engine_runs ${sql(
    rows.map((r) => ({
      id: r.id,
      function_id: r.fn.id,
      event_id: r.event.id,
      event: json(r.event),
      concurrency_key: r.slot.concurrencyKey,
      replay_of: r.replayOf ?? null,
      state_bytes: byteLength(r.event),
    })),
  )}`;
  await enqueueJobs(
    sql,
    rows.map((r) => ({ runId: r.id, kind: "discover" as const, ...r.slot })),
  );
  return rows.map((r) => r.id);
}

export async function createRun(
  sql: Sql,
  fn: CompiledFunction,
  event: EngineEvent,
  replayOf?: string,
): Promise<string> {
  const [id] = await createRuns(sql, [{ fn, event, replayOf }]);
  return defined(id, `the id of the run of ${fn.id}`);
}

/**
 * Ends a run if it is still active; false when it had already ended. Its jobs go with it, including one a
 * worker holds a lease on: that worker finds its job gone and drops the call's outcome.
 */
export async function endRun(sql: Sql, runId: string, outcome: RunOutcome): Promise<boolean> {
  const output = outcome.status === "completed" ? json(outcome.output) : null;
  const error = outcome.status === "completed" ? null : json(outcome.error);
  const ended = await sql`
    with ended as (
      update engine_runs set status = ${outcome.status}, output = ${output}::jsonb, error = ${error}::jsonb, ended_at = now()
      where id = ${runId} and status in ('queued', 'running')
      returning id
    ),
    -- SKIP LOCKED: a job whose outcome is being recorded right now is dropped by that transaction itself.
    jobs as (delete from engine_jobs where id in (select id from engine_jobs where run_id in (select id from ended) for update skip locked)),
    waits as (delete from engine_waits where run_id in (select id from ended))
    select id, pg_notify(${NOTIFY_CHANNEL}, '') from ended`;
  return ended.length > 0;
}
