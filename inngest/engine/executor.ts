/**
 * Runs one leased job: one HTTP call to the app's Inngest endpoint in the SDK's classic request/response
 * protocol, with no transaction open during the call. The lease is renewed while the call runs; the
 * outcome is recorded by outcomes.ts only while the lease is still ours.
 */
import "server-only";
import canonicalize from "canonicalize";
import type postgres from "postgres";
import { errors as undiciErrors, request, type Dispatcher } from "undici";
import type { Database } from "@/db/client";
import type { Logger } from "@/server/logger";
import { responseTooLargeError, stepLimitError, type EngineLimits } from "./limits";
import { BUSY_HEADER, JOB_HEADER } from "./headers";
import { recordOutcome, saveStepResults, type CallOutcome } from "./outcomes";
import { deleteJob, lockLeasedJob, renewLease, type Lease } from "./queue";
import type { CompiledFunction, FunctionCache } from "./registry";
import { endRun, TERMINAL_STATUSES, toRun, type MemoEntry, type Run, type RunOutcome, type RunRow } from "./runs";
import { signBody } from "./signing";
import { json, type Sql } from "./sql";
import { defined } from "@/server/defined";

export interface EngineContext {
  /** The engine's pool: postgres.js for its own statements (sql.ts), drizzle over the same pool for the rest. */
  sql: postgres.Sql;
  db: Database;
  /** The app's Inngest endpoint from configuration; registrations never change it. */
  appUrl: string;
  signingKey: string;
  log: Logger;
  limits: EngineLimits;
  leaseMs: number;
  requestTimeoutMs: number;
  /** Delay before retry number `attempt` (1-based). */
  backoffMs: (attempt: number) => number;
  functions: FunctionCache;
  /** Who holds the leases this engine takes (host:pid). */
  owner: string;
  dispatcher: Dispatcher;
  /** Called after a run failed, outside any transaction (emits inngest/function.failed). */
  onRunFailed: (run: Run, error: unknown) => Promise<void>;
}

/**
 * Runs a leased job and records its outcome. Returns the run's next job when this worker may go straight
 * on with it (already leased to it, with the run's state when it is known to be current), else null.
 */
export async function runLease(
  ctx: EngineContext,
  lease: Lease,
  options: { stop: AbortSignal; mayContinue: () => boolean },
): Promise<Lease | null> {
  const { job } = lease;
  const loaded = lease.state ?? (await loadRun(ctx.sql, job.runId));
  const fn = loaded ? await ctx.functions.get(loaded.run.functionId) : null;
  if (!loaded || TERMINAL_STATUSES.has(loaded.run.status) || !fn) {
    await endWithoutCall(
      ctx,
      lease,
      loaded && !fn
        ? {
            status: "failed",
            error: { name: "FunctionNotFound", message: `Function ${loaded.run.functionId} is no longer registered` },
          }
        : null,
    );
    return null;
  }
  let { run, memo } = loaded;
  if (lease.takenOver) {
    const error = {
      name: "LeaseExpired",
      message: "The process running this call stopped renewing its lease; the call may or may not have finished.",
    };
    await ctx.sql`
      insert into engine_attempts (run_id, step_id, attempt, outcome, error, duration_ms)
      values (${run.id}, ${job.stepId}, ${job.attempt - 1}, 'lease_expired', ${json(error)}::jsonb, 0)`;
  }
  if (job.kind === "wake" || job.kind === "timeout") {
    const resumed = await resumeFromPause(ctx, lease);
    if (!resumed) return null;
    ({ run, memo } = resumed);
  }
  if (run.stepCount >= ctx.limits.maxStepsPerRun) {
    // Checked before every call, as Inngest does: the run is failed without retries.
    await endWithoutCall(ctx, lease, { status: "failed", error: stepLimitError(ctx.limits.maxStepsPerRun) });
    return null;
  }
  const outcome = await callApp(ctx, lease, run, fn, memo, options.stop);
  return recordOutcome(ctx, lease, { run, fn, memo }, outcome, options.mayContinue);
}

/** A run with its saved steps in the order they were saved (the SDK's memo), in one query. */
export async function loadRun(sql: Sql, runId: string): Promise<{ run: Run; memo: MemoEntry[] } | null> {
  const [row] = await sql<(RunRow & { memo: [string, unknown][] })[]>`
    select r.*, coalesce((select json_agg(json_build_array(s.id, s.result) order by s.seq) from engine_steps s where s.run_id = r.id), '[]'::json) as memo
    from engine_runs r where r.id = ${runId}`;
  return row ? { run: toRun(row), memo: row.memo.map(([id, result]) => ({ id, result })) } : null;
}

/** Drops a job whose run ended, or ends its run with `outcome`, without calling the app. */
async function endWithoutCall(ctx: EngineContext, lease: Lease, outcome: RunOutcome | null) {
  const failed = await ctx.sql.begin(async (tx) => {
    const job = await lockLeasedJob(tx, lease);
    if (!job) return null;
    let ended: Run | null = null;
    if (outcome) {
      const [row] = await tx<RunRow[]>`select * from engine_runs where id = ${job.runId} for update`;
      if (row && (await endRun(tx, row.id, outcome)) && outcome.status === "failed") ended = toRun(row);
    }
    await deleteJob(tx, job);
    return ended;
  });
  if (failed && outcome?.status === "failed") await ctx.onRunFailed(failed, outcome.error);
}

/**
 * A sleep ended or a wait timed out: saves that step's (empty) result before the call, so the function
 * sees it and goes on. A wait's result is saved once, by its event or by its timeout, whichever comes
 * first: null when the event won (nothing to resume) or the run ended.
 */
async function resumeFromPause(ctx: EngineContext, lease: Lease): Promise<{ run: Run; memo: MemoEntry[] } | null> {
  const resumed = await ctx.sql.begin(async (tx) => {
    const job = await lockLeasedJob(tx, lease);
    if (!job) return false;
    const [row] = await tx<RunRow[]>`select * from engine_runs where id = ${job.runId} for update`;
    if (!row || TERMINAL_STATUSES.has(row.status)) {
      await deleteJob(tx, job);
      return false;
    }
    const stepId = defined(job.stepId, `the step of ${job.kind} job ${job.id}`);
    const totals = await saveStepResults(tx, toRun(row), [
      { id: stepId, op: job.kind === "wake" ? "Sleep" : "WaitForEvent", name: null, result: { data: null } },
    ]);
    if (job.kind === "timeout") {
      await tx`delete from engine_waits where run_id = ${row.id} and step_id = ${stepId}`;
      if (!totals.saved.has(stepId)) {
        // Saved before: by an earlier attempt of this job (null), or by the awaited event, which resumed the run itself.
        const [step] = await tx<
          { result: { data?: unknown } | null }[]
        >`select result from engine_steps where run_id = ${row.id} and id = ${stepId}`;
        if (step?.result?.data != null) {
          await deleteJob(tx, job);
          return false;
        }
      }
    }
    return true;
  });
  return resumed ? loadRun(ctx.sql, lease.job.runId) : null;
}

async function callApp(
  ctx: EngineContext,
  lease: Lease,
  run: Run,
  fn: CompiledFunction,
  memo: MemoEntry[],
  stop: AbortSignal,
): Promise<CallOutcome> {
  const { job } = lease;
  const planned = job.kind === "step";
  const url = new URL(ctx.appUrl);
  url.searchParams.set("fnId", fn.id);
  url.searchParams.set("stepId", planned ? defined(job.stepId, `the step of step job ${job.id}`) : "step");
  const body = canonicalize({
    event: run.event,
    events: [run.event],
    steps: Object.fromEntries(memo.map((s) => [s.id, s.result])),
    ctx: {
      run_id: run.id,
      attempt: job.attempt,
      max_attempts: fn.maxAttempts,
      disable_immediate_execution: planned,
      use_api: false,
      stack: { stack: memo.map((s) => s.id), current: memo.length },
    },
    version: run.version,
  });
  if (body === undefined) throw new Error(`Run ${run.id}'s request body has no JSON form`);

  const controller = new AbortController();
  const abort = (reason: "timed_out" | "lease_lost" | "stopping") => controller.abort(reason);
  const onStop = () => abort("stopping");
  stop.addEventListener("abort", onStop);
  const deadlineTimer = setTimeout(() => abort("timed_out"), ctx.requestTimeoutMs);
  const renewal = setInterval(
    () => {
      renewLease(ctx.sql, lease, ctx.leaseMs)
        .then((ours) => ours || abort("lease_lost"))
        .catch((error: unknown) =>
          ctx.log.warn({ err: error, jobId: job.id }, "engine: lease renewal failed; will try again"),
        );
    },
    Math.max(50, Math.floor(ctx.leaseMs / 3)),
  );

  const startedAt = new Date();
  const timing = () => ({ startedAt, durationMs: Date.now() - startedAt.getTime() });
  try {
    const response = await request(url, {
      method: "POST",
      dispatcher: ctx.dispatcher,
      signal: controller.signal,
      headersTimeout: ctx.requestTimeoutMs,
      bodyTimeout: ctx.requestTimeoutMs,
      headers: {
        "content-type": "application/json",
        "x-inngest-signature": signBody(body, ctx.signingKey),
        "x-inngest-server-kind": "cloud",
        // The app runs one call of a job at a time: a call the engine gave up on may still be running there.
        [JOB_HEADER]: String(job.id),
      },
      body,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > ctx.limits.maxResponseBytes) {
        response.body.destroy();
        return { kind: "too_large", error: responseTooLargeError(), ...timing() };
      }
      chunks.push(chunk);
    }
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
    };
    if (response.statusCode === 409 && header(BUSY_HEADER)) return { kind: "busy", ...timing() };
    return {
      kind: "response",
      status: response.statusCode,
      text: Buffer.concat(chunks).toString("utf8"),
      version: Number(header("x-inngest-req-version") ?? run.version),
      noRetry: header("x-inngest-no-retry") === "true",
      retryAfterMs: retryAfterMs(header("retry-after")),
      ...timing(),
    };
  } catch (error) {
    const reason = controller.signal.aborted ? (controller.signal.reason as string) : null;
    if (reason === "lease_lost") return { kind: "lease_lost", ...timing() };
    if (reason === "stopping") return { kind: "interrupted", ...timing() };
    if (
      reason === "timed_out" ||
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError
    ) {
      return {
        kind: "timed_out",
        error: {
          name: "TimeoutError",
          message: `The call to the app did not finish within ${ctx.requestTimeoutMs} ms`,
        },
        ...timing(),
      };
    }
    if (neverReachedApp(error)) return { kind: "unreachable", error: describe(error), ...timing() };
    return { kind: "connection_lost", error: describe(error), ...timing() };
  } finally {
    clearTimeout(deadlineTimer);
    clearInterval(renewal);
    stop.removeEventListener("abort", onStop);
  }
}

/** Errors raised before the request reached the app: trying again costs the function nothing. */
function neverReachedApp(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } } | null | undefined;
  const code = e?.code ?? e?.cause?.code;
  return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"].includes(
    code ?? "",
  );
}

function describe(error: unknown) {
  const e = error as { name?: string; message?: string; code?: string } | null | undefined;
  return { name: e?.name ?? "Error", message: `${e?.message ?? String(error)}${e?.code ? ` (${e.code})` : ""}` };
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
