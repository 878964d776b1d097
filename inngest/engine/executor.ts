/**
 * Runs one job of the queue: one HTTP call to the app's Inngest endpoint in the SDK's classic
 * request/response protocol, and the state change its answer asks for. The caller holds the job's
 * row lock for the whole call, so no other worker (in this process or another) runs it at once.
 */
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import type { Database, Tx } from "@/db/client";
import { engineAttempts, engineJobs, engineRuns, engineSteps, engineWaits } from "@/db/schema";
import type { Logger } from "@/server/logger";
import { parseDurationMs, sleepUntil } from "./durations";
import { parseEventMatch, valueAt } from "./expressions";
import { loadFunction, type CompiledFunction } from "./registry";
import { endRun, lockSlot, type EngineEvent } from "./runs";
import { signBody } from "./signing";

export type Job = typeof engineJobs.$inferSelect;
type Run = typeof engineRuns.$inferSelect;

export interface ExecutorOptions {
  /** For short transactions of their own (concurrency slots), separate from the job's. */
  db: Database;
  signingKey: string;
  log: Logger;
  /** Delay before retry number `attempt` (1-based). */
  backoffMs: (attempt: number) => number;
  requestTimeoutMs: number;
  /** Called after a run ends, outside the job's transaction (emits inngest/function.failed). */
  onRunFailed: (run: Run, error: unknown) => Promise<void>;
}

interface Op {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: unknown;
  opts?: Record<string, unknown>;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export type JobResult = "done" | "deferred";

/** `afterCommit` collects work to do once the job's transaction has committed. */
export async function executeJob(tx: Tx, job: Job, options: ExecutorOptions, afterCommit: (() => Promise<void>)[]): Promise<JobResult> {
  const finish = (run: Run, outcome: Parameters<typeof finishRun>[3]) => finishRun(tx, job, run, outcome, () => afterCommit.push(() => options.onRunFailed(run, (outcome as { error: unknown }).error)));
  const [run] = await tx.select().from(engineRuns).where(eq(engineRuns.id, job.runId));
  if (!run || TERMINAL.has(run.status)) {
    await deleteJob(tx, job);
    return "done";
  }
  const fn = await loadFunction(tx, run.functionId);
  if (!fn) {
    await finish(run, { status: "failed", error: { name: "FunctionNotFound", message: `Function ${run.functionId} is no longer registered` } });
    return "done";
  }
  if (run.status === "queued" && !(await takeSlot(options.db, run, fn))) {
    // Its turn comes when a run of the same key ends (releaseSlot); the delay is only a safety net.
    await tx.update(engineJobs).set({ runAt: sql`now() + interval '5 seconds'` }).where(eq(engineJobs.id, job.id));
    return "deferred";
  }

  if (job.kind === "wake") {
    await tx.insert(engineSteps).values({ runId: run.id, id: job.stepId!, op: "Sleep", result: { data: null } }).onConflictDoNothing();
  } else if (job.kind === "timeout") {
    const expired = await tx
      .delete(engineWaits)
      .where(and(eq(engineWaits.runId, run.id), eq(engineWaits.stepId, job.stepId!)))
      .returning();
    if (!expired.length) {
      await deleteJob(tx, job); // the event arrived first
      return "done";
    }
    await tx.insert(engineSteps).values({ runId: run.id, id: job.stepId!, op: "WaitForEvent", result: { data: null } }).onConflictDoNothing();
  }

  const memo = await tx
    .select({ id: engineSteps.id, result: engineSteps.result })
    .from(engineSteps)
    .where(eq(engineSteps.runId, run.id))
    .orderBy(asc(engineSteps.seq));
  const planned = job.kind === "step";
  const url = new URL(fn.url);
  url.searchParams.set("fnId", fn.id);
  url.searchParams.set("stepId", planned ? job.stepId! : "step");
  const body = {
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
  };

  const started = Date.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-inngest-signature": signBody(body, options.signingKey),
        "x-inngest-server-kind": "cloud",
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.requestTimeoutMs),
    });
  } catch (error) {
    // The app is unreachable (restarting, overloaded): try again later without spending an attempt.
    options.log.warn({ runId: run.id, err: error }, "engine: app unreachable, will retry");
    await tx.update(engineJobs).set({ runAt: new Date(Date.now() + options.backoffMs(1)) }).where(eq(engineJobs.id, job.id));
    return "deferred";
  }
  const text = await response.text();
  const durationMs = Date.now() - started;
  const version = Number(response.headers.get("x-inngest-req-version") ?? run.version);
  const noRetry = response.headers.get("x-inngest-no-retry") === "true";
  const retryAfter = retryAfterMs(response.headers.get("retry-after"));

  // From here on the run's state changes: lock it so parallel steps and cancellations apply one at a time.
  const [current] = await tx.select({ status: engineRuns.status }).from(engineRuns).where(eq(engineRuns.id, run.id)).for("update");
  if (!current || TERMINAL.has(current.status)) {
    await deleteJob(tx, job); // cancelled while we were calling: the answer no longer matters
    return "done";
  }
  if (version !== run.version) await tx.update(engineRuns).set({ version }).where(eq(engineRuns.id, run.id));
  const attemptRow = (outcome: string, extra: { stepId?: string | null; stepName?: string | null; error?: unknown } = {}) =>
    tx.insert(engineAttempts).values({
      runId: run.id,
      stepId: extra.stepId ?? job.stepId,
      stepName: extra.stepName ?? null,
      attempt: job.attempt,
      outcome,
      error: extra.error ?? null,
      durationMs,
    });

  if (response.status === 200) {
    await attemptRow("completed");
    await finish(run, { status: "completed", output: parseJson(text) });
    return "done";
  }

  if (response.status === 206) {
    const ops = (parseJson(text) as Op[] | null) ?? [];
    return applyOps(tx, job, run, fn, ops, { options, attemptRow, retryAfter, finish });
  }

  const error = errorFrom(text, response.status);
  const lastAttempt = job.attempt + 1 >= fn.maxAttempts;
  if (!noRetry && !lastAttempt && response.status >= 500) {
    await attemptRow("function_error", { error });
    await retryLater(tx, job, retryAfter ?? options.backoffMs(job.attempt + 1));
    return "done";
  }
  await attemptRow("failed", { error });
  await finish(run, { status: "failed", error });
  return "done";
}

async function applyOps(
  tx: Tx,
  job: Job,
  run: Run,
  fn: CompiledFunction,
  ops: Op[],
  ctx: {
    options: ExecutorOptions;
    attemptRow: (outcome: string, extra?: { stepId?: string | null; stepName?: string | null; error?: unknown }) => Promise<unknown>;
    retryAfter: number | null;
    finish: (run: Run, outcome: { status: "failed"; error: unknown }) => Promise<void>;
  },
): Promise<JobResult> {
  let progressed = false;
  const planned: string[] = [];
  for (const op of ops) {
    const stepName = op.displayName ?? op.name ?? null;
    switch (op.op) {
      case "StepRun":
      case "Step":
        await tx.insert(engineSteps).values({ runId: run.id, id: op.id, name: stepName, op: op.op, result: { data: op.data ?? null } }).onConflictDoNothing();
        await ctx.attemptRow("step_ran", { stepId: op.id, stepName });
        progressed = true;
        break;
      case "StepFailed":
        await tx.insert(engineSteps).values({ runId: run.id, id: op.id, name: stepName, op: op.op, result: { error: op.error } }).onConflictDoNothing();
        await ctx.attemptRow("step_failed", { stepId: op.id, stepName, error: op.error });
        progressed = true;
        break;
      case "StepError": {
        // A retriable step error: the same request again, one attempt later.
        await ctx.attemptRow("step_error", { stepId: op.id, stepName, error: op.error });
        await retryLater(tx, job, ctx.retryAfter ?? ctx.options.backoffMs(job.attempt + 1));
        return "done";
      }
      case "StepPlanned":
        planned.push(op.id);
        break;
      case "Sleep":
        await tx.insert(engineJobs).values({ runId: run.id, kind: "wake", stepId: op.id, runAt: sleepUntil(op.name ?? "0s") }).onConflictDoNothing();
        await ctx.attemptRow("sleeping", { stepId: op.id, stepName: op.displayName ?? null });
        break;
      case "WaitForEvent": {
        const expression = op.opts?.if as string | undefined;
        const match = expression ? parseEventMatch(expression) : null;
        const timeoutMs = parseDurationMs(String(op.opts?.timeout ?? "")) ?? 0;
        const expiresAt = new Date(Date.now() + timeoutMs);
        await tx
          .insert(engineWaits)
          .values({
            runId: run.id,
            stepId: op.id,
            eventName: String(op.opts?.event ?? op.name),
            matchPath: match?.asyncPath ?? null,
            matchValue: match ? (valueAt(run.event as EngineEvent, match.eventPath) ?? null) : null,
            expiresAt,
          })
          .onConflictDoNothing();
        await tx.insert(engineJobs).values({ runId: run.id, kind: "timeout", stepId: op.id, runAt: expiresAt }).onConflictDoNothing();
        await ctx.attemptRow("waiting", { stepId: op.id, stepName: op.displayName ?? null });
        break;
      }
      default: {
        const error = { name: "UnsupportedStep", message: `Step type ${op.op} is not supported by the embedded engine` };
        await ctx.attemptRow("failed", { stepId: op.id, error });
        await ctx.finish(run, { status: "failed", error });
        return "done";
      }
    }
  }

  await deleteJob(tx, job);
  if (planned.length) {
    const done = new Set(
      (await tx.select({ id: engineSteps.id }).from(engineSteps).where(and(eq(engineSteps.runId, run.id), inArray(engineSteps.id, planned)))).map((s) => s.id),
    );
    const todo = planned.filter((id) => !done.has(id));
    if (todo.length) {
      await tx.insert(engineJobs).values(todo.map((stepId) => ({ runId: run.id, kind: "step" as const, stepId }))).onConflictDoNothing();
      return "done";
    }
    progressed = true;
  }
  // Discover the next step once nothing planned is still running for this run.
  if (progressed && (job.kind !== "step" || (await pendingStepJobs(tx, run.id)) === 0)) {
    await tx.insert(engineJobs).values({ runId: run.id, kind: "discover" }).onConflictDoNothing();
  }
  return "done";
}

async function pendingStepJobs(tx: Tx, runId: string): Promise<number> {
  const [row] = await tx.select({ n: count() }).from(engineJobs).where(and(eq(engineJobs.runId, runId), eq(engineJobs.kind, "step")));
  return row?.n ?? 0;
}

/**
 * Marks a queued run as running if its concurrency key has a free slot. Its own short transaction under
 * the key's advisory lock (also taken when a run ends), so a slot is never given twice nor missed.
 */
async function takeSlot(db: Database, run: Run, fn: CompiledFunction): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (fn.concurrency) {
      await lockSlot(tx, fn.id, run.concurrencyKey);
      const [row] = await tx
        .select({ n: count() })
        .from(engineRuns)
        .where(
          and(
            eq(engineRuns.functionId, fn.id),
            run.concurrencyKey === null ? sql`${engineRuns.concurrencyKey} is null` : eq(engineRuns.concurrencyKey, run.concurrencyKey),
            eq(engineRuns.status, "running"),
          ),
        );
      if ((row?.n ?? 0) >= fn.concurrency.limit) return false;
    }
    const updated = await tx
      .update(engineRuns)
      .set({ status: "running", startedAt: new Date() })
      .where(and(eq(engineRuns.id, run.id), eq(engineRuns.status, "queued")))
      .returning({ id: engineRuns.id });
    return updated.length > 0;
  });
}

async function retryLater(tx: Tx, job: Job, delayMs: number) {
  await tx
    .update(engineJobs)
    .set({ attempt: job.attempt + 1, runAt: new Date(Date.now() + delayMs) })
    .where(eq(engineJobs.id, job.id));
}

async function deleteJob(tx: Tx, job: Job) {
  await tx.delete(engineJobs).where(eq(engineJobs.id, job.id));
}

async function finishRun(
  tx: Tx,
  job: Job,
  run: Run,
  outcome: { status: "completed"; output: unknown } | { status: "failed"; error: unknown },
  onFailed: () => void,
) {
  await deleteJob(tx, job);
  const ended = await endRun(tx, run.id, outcome);
  // The failure event goes out after commit, so a failure handler never sees a run that is not failed yet.
  if (ended && outcome.status === "failed") onFailed();
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function errorFrom(text: string, status: number): unknown {
  const body = parseJson(text);
  if (body && typeof body === "object") return body;
  return { name: "Error", message: `The function endpoint answered ${status}${text ? `: ${text.slice(0, 500)}` : ""}` };
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
