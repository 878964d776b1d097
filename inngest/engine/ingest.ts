/**
 * Event ingestion: store each event once (ids derived from the SDK's event-id seed, so the SDK's own
 * retries do not duplicate), start the functions it triggers, cancel the runs it cancels and resume
 * the runs waiting for it. A send is one transaction, however many events it carries.
 */
import "server-only";
import { createHash, randomUUID } from "node:crypto";
import type postgres from "postgres";
import { valueAt } from "./expressions";
import { byteLength, EventRejectedError, type EngineLimits } from "./limits";
import { enqueueJobs } from "./queue";
import type { CompiledFunction, FunctionCache } from "./registry";
import { saveStepResults } from "./outcomes";
import { createRuns, endRun, slotOf, TERMINAL_STATUSES, toRun, type EngineEvent, type RunRow } from "./runs";
import { date, json, type Sql } from "./sql";

export interface IncomingEvent {
  id?: string;
  name: string;
  data?: Record<string, unknown>;
  user?: Record<string, unknown>;
  ts?: number;
  v?: string;
}

function eventId(seed: string | null, index: number): string {
  if (!seed) return randomUUID();
  return createHash("sha256").update(`${seed}:${index}`).digest("hex").slice(0, 32);
}

function isEqual(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** Checks a send against Inngest's limits (texts as Inngest's event API answers them); nothing is stored if one fails. */
export function validateEvents(incoming: IncomingEvent[], limits: EngineLimits) {
  if (incoming.length > limits.maxEventsPerRequest) {
    throw new EventRejectedError(`Cannot have more than ${limits.maxEventsPerRequest} events in a batch`);
  }
  // What the client sent, as JSON: an entry may be anything, null included.
  for (const raw of incoming as (IncomingEvent | null)[]) {
    if (typeof raw?.name !== "string" || !raw.name) throw new EventRejectedError("Every event needs a name");
    const size = byteLength(raw);
    if (size > limits.maxEventBytes)
      throw new EventRejectedError(
        `Event is over the max size: Max ${limits.maxEventBytes} bytes / Size ${size} bytes`,
      );
  }
}

export async function ingestEvents(
  sql: postgres.Sql,
  functions: FunctionCache,
  limits: EngineLimits,
  incoming: IncomingEvent[],
  seed: string | null,
): Promise<string[]> {
  validateEvents(incoming, limits);
  const events: EngineEvent[] = incoming.map((raw, index) => ({
    id: raw.id ?? eventId(seed, index),
    name: raw.name,
    data: raw.data ?? {},
    user: raw.user ?? null,
    ts: raw.ts ?? Date.now(),
    ...(raw.v ? { v: raw.v } : {}),
  }));
  if (!events.length) return [];
  const compiled = await functions.all();
  await sql.begin(async (tx) => {
    const stored = await tx<{ id: string }[]>`
      insert into engine_events ${tx(events.map((e) => ({ id: e.id, name: e.name, data: json(e.data), user: json(e.user), ts: e.ts })))}
      on conflict do nothing
      returning id`;
    const fresh = new Set(stored.map((s) => s.id)); // the rest were ingested before: a retried send
    const newEvents = events.filter((e, i) => fresh.has(e.id) && events.findIndex((other) => other.id === e.id) === i);
    const starts = newEvents.flatMap((event) =>
      compiled
        .filter((fn) =>
          fn.triggers.some(
            (t) => t.event === event.name && (!t.filter || isEqual(valueAt(event, t.filter.path), t.filter.value)),
          ),
        )
        .map((fn) => ({ fn, event })),
    );
    await createRuns(tx, starts);
    for (const event of newEvents) {
      await cancelMatchingRuns(tx, compiled, event);
      await resumeWaitingRuns(tx, compiled, event);
    }
  });
  return events.map((e) => e.id);
}

async function cancelMatchingRuns(tx: Sql, functions: CompiledFunction[], event: EngineEvent) {
  for (const fn of functions) {
    for (const cancel of fn.cancel.filter((c) => c.event === event.name)) {
      const candidates = await tx<{ id: string; event: EngineEvent; created_at: string | Date }[]>`
        select id, event, created_at from engine_runs where function_id = ${fn.id} and status in ('queued', 'running')`;
      for (const run of candidates) {
        const matches =
          !cancel.match || isEqual(valueAt(run.event, cancel.match.eventPath), valueAt(event, cancel.match.asyncPath));
        const inTime = cancel.timeoutMs === null || Date.now() - date(run.created_at).getTime() <= cancel.timeoutMs;
        // An event never cancels the run it started.
        if (matches && inTime && run.event.id !== event.id) {
          await endRun(tx, run.id, {
            status: "cancelled",
            error: { name: "Cancelled", message: `Cancelled by event ${event.name}` },
          });
        }
      }
    }
  }
}

/**
 * Resumes the runs waiting for this event. The wait's step result decides a race with its timeout: whoever
 * saves it first wins (the timeout saves null, an event saves itself), so a run resumes exactly once.
 */
async function resumeWaitingRuns(tx: Sql, functions: CompiledFunction[], event: EngineEvent) {
  const waits = await tx<{ run_id: string; step_id: string; match_path: string | null; match_value: unknown }[]>`
    select run_id, step_id, match_path, match_value from engine_waits where event_name = ${event.name}`;
  for (const wait of waits) {
    if (wait.match_path !== null && !isEqual(valueAt(event, wait.match_path), wait.match_value)) continue;
    // The run first (lock order, queue.ts): a worker recording this run waits for us, or we for it.
    const [row] = await tx<RunRow[]>`select * from engine_runs where id = ${wait.run_id} for update`;
    if (!row || TERMINAL_STATUSES.has(row.status)) continue;
    const run = toRun(row);
    const { saved } = await saveStepResults(tx, run, [
      { id: wait.step_id, op: "WaitForEvent", name: null, result: { data: event } },
    ]);
    if (!saved.has(wait.step_id)) continue; // the timeout came first
    const fn = functions.find((f) => f.id === run.functionId);
    const slot = fn
      ? slotOf(fn, run.event as EngineEvent)
      : { functionId: run.functionId, concurrencyKey: run.concurrencyKey, concurrencyLimit: null };
    await Promise.all([
      tx`delete from engine_waits where run_id = ${run.id} and step_id = ${wait.step_id}`,
      // A timeout job a worker holds right now is skipped; that worker finds the event's result and drops it.
      tx`delete from engine_jobs where id in (select id from engine_jobs where run_id = ${run.id} and kind = 'timeout' and step_id = ${wait.step_id} for update skip locked)`,
      enqueueJobs(tx, [{ runId: run.id, kind: "discover", ...slot }]),
    ]);
  }
}
