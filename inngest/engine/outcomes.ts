/**
 * Records what a call to the app came back with, in one short transaction that lands only while the
 * job's lease is still ours (lock order: the job, then its run; see queue.ts). The answer of the SDK's
 * classic protocol becomes saved steps, new jobs (the next discovery, planned parallel steps, a sleep's
 * wake-up, a wait's timeout), a retry, or the end of the run.
 *
 * Statements that do not depend on each other are sent together (postgres.js pipelines the queries of a
 * transaction issued at once): recording a step is four round trips, whatever it writes.
 */
import "server-only";
import type { engineAttempts } from "@/db/schema";
import { parseDurationMs, sleepUntil } from "./durations";
import type { EngineContext } from "./executor";
import { parseEventMatch, valueAt } from "./expressions";
import { byteLength, stateLimitError, stepLimitError, stepOutputTooLargeError } from "./limits";
import {
  deleteJob,
  handOffSlot,
  insertJobs,
  insertLeasedJob,
  lockLeaseAndRun,
  notifyWorkers,
  releaseJob,
  reuseJobAsLeased,
  type Job,
  type Lease,
  type NewJob,
} from "./queue";
import type { CompiledFunction } from "./registry";
import { endRun, TERMINAL_STATUSES, toRun, type MemoEntry, type Run } from "./runs";
import { json, timestamp, transaction, type Sql } from "./sql";
import { defined } from "@/server/defined";

interface Timing {
  startedAt: Date;
  durationMs: number;
}

export type CallOutcome =
  | ({
      kind: "response";
      status: number;
      text: string;
      version: number;
      noRetry: boolean;
      retryAfterMs: number | null;
    } & Timing)
  /** An earlier call of this job is still running in the app: try again soon, no attempt spent. */
  | ({ kind: "busy" } & Timing)
  /** The lease was lost mid-call (taken over or the run ended): the outcome is not ours to record. */
  | ({ kind: "lease_lost" } & Timing)
  /** This engine is stopping: give the job back as it was. */
  | ({ kind: "interrupted" } & Timing)
  /** The request never reached the app (down, restarting): try again later, no attempt spent. */
  | ({ kind: "unreachable"; error: unknown } & Timing)
  /** No answer within the request timeout, or the connection broke mid-call: an attempt spent. */
  | ({ kind: "timed_out" | "connection_lost"; error: unknown } & Timing)
  | ({ kind: "too_large"; error: unknown } & Timing);

interface Op {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: unknown;
  opts?: Record<string, unknown>;
}

interface StepToSave {
  id: string;
  op: string;
  name: string | null;
  result: unknown;
}

type Attempt = typeof engineAttempts.$inferInsert & { startedAt: Date };

const BUSY_RETRY_MS = 1000;
const MAX_UNREACHABLE_DELAY_MS = 30_000;

/** What the call was made with: the run as it was, its function, and the memo sent. */
export interface CallInput {
  run: Run;
  fn: CompiledFunction;
  memo: MemoEntry[];
}

export async function recordOutcome(
  ctx: EngineContext,
  lease: Lease,
  input: CallInput,
  outcome: CallOutcome,
  mayContinue: () => boolean,
): Promise<Lease | null> {
  if (outcome.kind === "lease_lost") return null;
  if (outcome.kind === "unreachable")
    ctx.log.warn(
      { jobId: lease.job.id, appUrl: ctx.appUrl, err: outcome.error },
      "engine: app unreachable, will retry",
    );
  const failed: { run: Run; error: unknown }[] = [];
  const next = await transaction(ctx.sql, async (tx) => {
    const runRow = await lockLeaseAndRun(tx, lease);
    if (!runRow) return null; // the lease is no longer ours
    if (TERMINAL_STATUSES.has(runRow.status)) {
      await deleteJob(tx, lease.job); // cancelled while we were calling: the answer no longer matters
      return null;
    }
    return new Recording(ctx, tx, lease, toRun(runRow), input, outcome, failed).record(mayContinue);
  });
  for (const { run, error } of failed) {
    await ctx
      .onRunFailed(run, error)
      .catch((err: unknown) => ctx.log.error({ err, runId: run.id }, "engine: failure handler event not sent"));
  }
  return next;
}

/**
 * Saves step results, each once (a result saved before stays), and counts the new ones against the run's
 * limits, in one statement. Returns the run's new totals and which of the steps this call saved.
 */
export function saveStepResults(
  tx: Sql,
  run: Run,
  steps: StepToSave[],
  version: number = run.version,
): Promise<{ stepCount: number; stateBytes: number; saved: Set<string> }> {
  const incoming = steps.map((s) => ({ ...s, bytes: byteLength(s.result) }));
  return tx<{ step_count: number; state_bytes: string; saved: string[] }[]>`
    with incoming as (
      select e->>'id' as id, e->>'name' as name, e->>'op' as op, e->'result' as result, (e->>'bytes')::bigint as bytes, n
      from jsonb_array_elements(${JSON.stringify(incoming)}::jsonb) with ordinality as t(e, n)
    ),
    saved as (
      insert into engine_steps (run_id, id, name, op, result)
      select ${run.id}, id, name, op, result from incoming order by n
      on conflict do nothing
      returning id
    ),
    totals as (
      update engine_runs set
        step_count = step_count + (select count(*) from saved),
        state_bytes = state_bytes + coalesce((select sum(i.bytes) from incoming i join saved s on s.id = i.id), 0),
        version = ${version}
      where id = ${run.id}
      returning step_count, state_bytes
    )
    select t.step_count, t.state_bytes, coalesce((select json_agg(id) from saved), '[]'::json) as saved from totals t`.then(
    ([row]) => {
      const totals = defined(row, `run ${run.id}'s step totals`);
      return { stepCount: totals.step_count, stateBytes: Number(totals.state_bytes), saved: new Set(totals.saved) };
    },
  );
}

class Recording {
  private readonly attempts: Attempt[] = [];
  private readonly job: Job;

  constructor(
    private readonly ctx: EngineContext,
    private readonly tx: Sql,
    private readonly lease: Lease,
    private readonly run: Run,
    private readonly input: CallInput,
    private readonly outcome: CallOutcome,
    private readonly failed: { run: Run; error: unknown }[],
  ) {
    // The lease is ours, so the job is as we claimed it (only its holder changes it).
    this.job = lease.job;
  }

  async record(mayContinue: () => boolean): Promise<Lease | null> {
    const { outcome } = this;
    switch (outcome.kind) {
      case "busy":
        await releaseJob(this.tx, this.job, { delayMs: BUSY_RETRY_MS, attempt: this.job.attempt });
        return null;
      case "interrupted":
        await releaseJob(this.tx, this.job, { delayMs: 0, attempt: this.job.attempt });
        return null;
      case "unreachable":
        await releaseJob(this.tx, this.job, {
          delayMs: Math.min(MAX_UNREACHABLE_DELAY_MS, this.ctx.backoffMs(1)),
          attempt: this.job.attempt,
        });
        return null;
      case "timed_out":
      case "connection_lost":
        return this.retryOrFail(outcome.error, outcome.kind, null);
      case "too_large":
        this.attempt("output_too_large", { error: outcome.error });
        await this.fail(outcome.error);
        return null;
      case "lease_lost":
        return null;
      case "response":
        return this.response(outcome, mayContinue);
    }
  }

  private async response(
    outcome: Extract<CallOutcome, { kind: "response" }>,
    mayContinue: () => boolean,
  ): Promise<Lease | null> {
    if (outcome.status === 200) {
      this.attempt("completed");
      const written = this.writeAttempts();
      const versioned =
        outcome.version !== this.run.version
          ? this.tx`update engine_runs set version = ${outcome.version} where id = ${this.run.id}`.execute()
          : null;
      await endRun(this.tx, this.run.id, { status: "completed", output: parseJson(outcome.text) });
      const next = mayContinue()
        ? await handOffSlot(this.tx, this.lease, { owner: this.ctx.owner, leaseMs: this.ctx.leaseMs })
        : null;
      await Promise.all([written, versioned]);
      return next;
    }
    if (outcome.status === 206) {
      const ops = parseJson(outcome.text);
      return this.applyOps(Array.isArray(ops) ? (ops as Op[]) : [], outcome, mayContinue);
    }
    const error = errorFrom(outcome.text, outcome.status);
    if (outcome.status >= 500 && !outcome.noRetry)
      return this.retryOrFail(error, "function_error", outcome.retryAfterMs);
    this.attempt("failed", { error });
    await this.fail(error);
    return null;
  }

  private async applyOps(
    ops: Op[],
    outcome: Extract<CallOutcome, { kind: "response" }>,
    mayContinue: () => boolean,
  ): Promise<Lease | null> {
    const { limits } = this.ctx;
    if (ops.length > limits.maxStepsPerRun) {
      this.attempt("failed", { error: stepLimitError(limits.maxStepsPerRun) });
      await this.fail(stepLimitError(limits.maxStepsPerRun));
      return null;
    }
    const toSave: StepToSave[] = [];
    const planned: string[] = [];
    const later: NewJob[] = [];
    for (const op of ops) {
      const stepName = op.displayName ?? op.name ?? null;
      switch (op.op) {
        case "StepRun":
        case "Step":
          if (byteLength(op.data ?? null) > limits.maxStepOutputBytes) {
            return this.retryOrFail(stepOutputTooLargeError(op.id), "step_error", null, { stepId: op.id, stepName });
          }
          toSave.push({ id: op.id, op: op.op, name: stepName, result: { data: op.data ?? null } });
          this.attempt("step_ran", { stepId: op.id, stepName });
          break;
        case "StepFailed":
          toSave.push({ id: op.id, op: op.op, name: stepName, result: { error: op.error } });
          this.attempt("step_failed", { stepId: op.id, stepName, error: op.error });
          break;
        case "StepError":
          // A retriable step error: the same request again, one attempt later.
          return this.retryOrFail(op.error, "step_error", outcome.retryAfterMs, { stepId: op.id, stepName });
        case "StepPlanned":
          planned.push(op.id);
          break;
        case "Sleep":
          later.push({ ...this.slot(), kind: "wake", stepId: op.id, dueAt: sleepUntil(op.name ?? "0s") });
          this.attempt("sleeping", { stepId: op.id, stepName: op.displayName ?? null });
          break;
        case "WaitForEvent": {
          const expression = op.opts?.if as string | undefined;
          const match = expression ? parseEventMatch(expression) : null;
          const { timeout, event } = op.opts ?? {};
          const expiresAt = new Date(Date.now() + (parseDurationMs(typeof timeout === "string" ? timeout : "") ?? 0));
          const matchValue = match ? (valueAt(this.run.event, match.eventPath) ?? null) : null;
          await this.tx`
            insert into engine_waits (run_id, step_id, event_name, match_path, match_value, expires_at)
            values (${this.run.id}, ${op.id}, ${typeof event === "string" ? event : String(op.name)}, ${match?.asyncPath ?? null}, ${json(matchValue)}::jsonb, ${timestamp(expiresAt)})
            on conflict do nothing`;
          later.push({ ...this.slot(), kind: "timeout", stepId: op.id, dueAt: expiresAt });
          this.attempt("waiting", { stepId: op.id, stepName: op.displayName ?? null });
          break;
        }
        default: {
          const error = {
            name: "UnsupportedStep",
            message: `Step type ${op.op} is not supported by the embedded engine`,
          };
          this.attempt("failed", { stepId: op.id, error });
          await this.fail(error);
          return null;
        }
      }
    }

    // Which planned steps still need a call (a replayed plan may name steps already saved).
    const todo = planned.length ? await this.notSaved(planned) : [];
    const progressed = toSave.length > 0 || (planned.length > 0 && todo.length === 0);
    const now: NewJob[] = todo.map((stepId) => ({ ...this.slot(), kind: "step" as const, stepId }));
    // Discover the next step once nothing planned is still running for this run.
    if (!now.length && progressed && (this.job.kind !== "step" || (await this.otherStepJobs()) === 0)) {
      now.push({ ...this.slot(), kind: "discover" });
    }

    // One job due now may go straight to this worker, already leased to it: the slot it frees by finishing
    // is the slot it takes, so the limit holds, and the run skips a trip through the queue.
    const [first, ...rest] = now;
    const continueWith = first && mayContinue() ? first : null;
    const queued = continueWith ? [...rest, ...later] : [...now, ...later];
    // Sent together; only the job statements depend on each other, and advanceJob keeps their order.
    const saving = saveStepResults(this.tx, this.run, toSave, outcome.version);
    const attempts = this.writeAttempts();
    const next = await this.advanceJob(continueWith, queued);
    const [totals] = await Promise.all([saving, attempts]);
    if (totals.stateBytes > limits.maxRunStateBytes) {
      await this.fail(stateLimitError(limits.maxRunStateBytes));
      return null;
    }
    if (!next) return null;
    // The memo stays current in memory only if every step of the run was in it (nothing was saved elsewhere meanwhile).
    const memoIsCurrent = this.run.stepCount === this.input.memo.length && next.job.kind === "discover";
    const state = memoIsCurrent
      ? {
          run: { ...this.run, stepCount: totals.stepCount, stateBytes: totals.stateBytes, version: outcome.version },
          memo: [
            ...this.input.memo,
            ...toSave.filter((s) => totals.saved.has(s.id)).map((s) => ({ id: s.id, result: s.result })),
          ],
        }
      : undefined;
    return { ...next, state, handOffs: this.lease.handOffs };
  }

  /**
   * Replaces this job with the run's next ones; the one this worker goes on with comes back leased. Idle
   * workers are woken only when there is something for them: queued jobs, or a slot this job freed.
   */
  private async advanceJob(continueWith: NewJob | null, queued: NewJob[]): Promise<Lease | null> {
    const lease = { owner: this.ctx.owner, leaseMs: this.ctx.leaseMs };
    const queuing = queued.length ? insertJobs(this.tx, queued) : null;
    let next: Lease | null = null;
    if (continueWith && continueWith.kind === this.job.kind && (continueWith.stepId ?? null) === this.job.stepId) {
      next = await reuseJobAsLeased(this.tx, this.job, lease);
    } else {
      await this.tx`delete from engine_jobs where id = ${this.job.id}`;
      if (continueWith) next = await insertLeasedJob(this.tx, continueWith, lease);
    }
    await Promise.all([queuing, queued.length || !next ? notifyWorkers(this.tx) : null]);
    return next;
  }

  private slot() {
    return {
      runId: this.run.id,
      functionId: this.job.functionId,
      concurrencyKey: this.job.concurrencyKey,
      concurrencyLimit: this.job.concurrencyLimit,
    };
  }

  private async notSaved(stepIds: string[]): Promise<string[]> {
    const saved = await this.tx<
      { id: string }[]
    >`select id from engine_steps where run_id = ${this.run.id} and id in ${this.tx(stepIds)}`;
    const done = new Set(saved.map((s) => s.id));
    return stepIds.filter((id) => !done.has(id));
  }

  /** Planned steps of this run still queued or running, besides this one. */
  private async otherStepJobs(): Promise<number> {
    const [row] = await this.tx<
      { n: number }[]
    >`select count(*)::int as n from engine_jobs where run_id = ${this.run.id} and kind = 'step' and id <> ${this.job.id}`;
    return row?.n ?? 0;
  }

  /** A failed call: retried one attempt later, or the run fails once its attempts are spent. */
  private async retryOrFail(
    error: unknown,
    kind: string,
    retryAfterMs: number | null,
    step: { stepId?: string; stepName?: string | null } = {},
  ): Promise<null> {
    this.attempt(kind, { ...step, error });
    if (this.job.attempt + 1 >= this.input.fn.maxAttempts) {
      await this.fail(error);
      return null;
    }
    await this.writeAttempts();
    await releaseJob(this.tx, this.job, {
      delayMs: retryAfterMs ?? this.ctx.backoffMs(this.job.attempt + 1),
      attempt: this.job.attempt + 1,
    });
    return null;
  }

  private async fail(error: unknown) {
    await this.writeAttempts();
    // The failure event goes out after commit, so a failure handler never sees a run that is not failed yet.
    if (await endRun(this.tx, this.run.id, { status: "failed", error })) this.failed.push({ run: this.run, error });
  }

  private attempt(outcome: string, extra: { stepId?: string | null; stepName?: string | null; error?: unknown } = {}) {
    this.attempts.push({
      runId: this.run.id,
      stepId: extra.stepId ?? this.job.stepId,
      stepName: extra.stepName ?? null,
      attempt: this.job.attempt,
      outcome,
      error: extra.error ?? null,
      startedAt: this.outcome.startedAt,
      durationMs: this.outcome.durationMs,
    });
  }

  /** Sends the attempts collected so far (at the call: see queue.ts on sending together). */
  private writeAttempts(): Promise<unknown> {
    const rows = this.attempts.splice(0);
    if (!rows.length) return Promise.resolve();
    return this.tx`insert into engine_attempts ${this.tx(
      rows.map((a) => ({
        run_id: a.runId,
        step_id: a.stepId ?? null,
        step_name: a.stepName ?? null,
        attempt: a.attempt,
        outcome: a.outcome,
        error: json(a.error),
        started_at: timestamp(a.startedAt),
        duration_ms: a.durationMs,
      })),
    )}`.then(() => undefined);
  }
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
