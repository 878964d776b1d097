/**
 * State of the embedded durable-execution engine (inngest/engine): registered functions, events,
 * runs with their memoized step results, the job queue, waits, attempts (for operators) and cron schedules.
 */
import { sql } from "drizzle-orm";
import {
  bigserial,
  bigint,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

export const engineRunStatus = pgEnum("engine_run_status", ["queued", "running", "completed", "failed", "cancelled"]);

export const engineFunctions = pgTable("engine_functions", {
  id: text("id").primaryKey(),
  appId: text("app_id").notNull(),
  name: text("name").notNull(),
  /** The function config exactly as the SDK registered it. */
  config: jsonb("config").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const engineEvents = pgTable(
  "engine_events",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    data: jsonb("data").notNull(),
    user: jsonb("user"),
    ts: bigint("ts", { mode: "number" }).notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("engine_events_name_idx").on(t.name, t.receivedAt),
    index("engine_events_received_idx").on(t.receivedAt),
  ],
);

export const engineRuns = pgTable(
  "engine_runs",
  {
    id: text("id").primaryKey(),
    functionId: text("function_id").notNull(),
    eventId: text("event_id").notNull(),
    /** The triggering event as sent to the function. */
    event: jsonb("event").notNull(),
    status: engineRunStatus("status").notNull().default("queued"),
    concurrencyKey: text("concurrency_key"),
    /** The SDK's execution version, echoed back on every request. */
    version: integer("version").notNull().default(-1),
    output: jsonb("output"),
    error: jsonb("error"),
    replayOf: text("replay_of"),
    /** Step results saved so far (step.run, sleeps, waits), held to Inngest's steps-per-run limit. */
    stepCount: integer("step_count").notNull().default(0),
    /** Bytes of the event plus every saved step result, held to Inngest's run-state limit. */
    stateBytes: bigint("state_bytes", { mode: "number" }).notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    endedAt: timestamp("ended_at", { withTimezone: true }),
  },
  (t) => [
    index("engine_runs_created_idx").on(t.createdAt),
    // Retention prunes ended runs by age.
    index("engine_runs_ended_idx").on(t.status, t.endedAt),
  ],
);

export const engineSteps = pgTable(
  "engine_steps",
  {
    runId: text("run_id")
      .notNull()
      .references(() => engineRuns.id, { onDelete: "cascade" }),
    /** The SDK's hashed step id. */
    id: text("id").notNull(),
    /** Completion order, which is the order of the memo stack sent back to the SDK. */
    seq: bigserial("seq", { mode: "number" }).notNull(),
    name: text("name"),
    op: text("op").notNull(),
    /** `{ data }` or `{ error }`, exactly what the SDK gets back. */
    result: jsonb("result").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: "engine_steps_pkey", columns: [t.runId, t.id] })],
);

/**
 * The queue. A job is one HTTP call to the app. It is free when `leaseToken` is null and taken by the worker
 * holding the token until `dueAt`, which that worker pushes forward while its call runs (a lease). `dueAt` is
 * therefore always "when someone may take this job next": a free job's start time, or a lease's expiry, after
 * which another worker takes the job over.
 */
export const engineJobs = pgTable(
  "engine_jobs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => engineRuns.id, { onDelete: "cascade" }),
    /** Copied from the run and its function, so slots are counted from the queue alone. */
    functionId: text("function_id").notNull(),
    concurrencyKey: text("concurrency_key"),
    concurrencyLimit: integer("concurrency_limit"),
    /** discover: call the function to find its next step · step: run one planned step ·
     *  wake: a sleep ended · timeout: a waitForEvent expired */
    kind: text("kind", { enum: ["discover", "step", "wake", "timeout"] }).notNull(),
    stepId: text("step_id"),
    attempt: integer("attempt").notNull().default(0),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull().defaultNow(),
    leaseToken: text("lease_token"),
    /** host:pid of the process holding the lease, for operators. */
    leasedBy: text("leased_by"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // At most one job of a kind per step of a run: enqueueing is idempotent.
    uniqueIndex("engine_jobs_run_kind_step_key").on(t.runId, t.kind, sql`coalesce(${t.stepId}, '')`),
    index("engine_jobs_due_idx").on(t.dueAt, t.id),
    // Slots in use: leased jobs of limited functions, counted per function and key at every claim.
    index("engine_jobs_slots_idx")
      .on(t.functionId, t.concurrencyKey)
      .where(sql`${t.leaseToken} is not null and ${t.concurrencyLimit} is not null`),
  ],
);

export const engineWaits = pgTable(
  "engine_waits",
  {
    runId: text("run_id")
      .notNull()
      .references(() => engineRuns.id, { onDelete: "cascade" }),
    stepId: text("step_id").notNull(),
    eventName: text("event_name").notNull(),
    /** Path into the incoming event (`data.x`) that must equal `matchValue`; null matches any event. */
    matchPath: text("match_path"),
    matchValue: jsonb("match_value"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ name: "engine_waits_pkey", columns: [t.runId, t.stepId] }),
    index("engine_waits_event_idx").on(t.eventName),
  ],
);

export const engineAttempts = pgTable(
  "engine_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => engineRuns.id, { onDelete: "cascade" }),
    stepId: text("step_id"),
    stepName: text("step_name"),
    attempt: integer("attempt").notNull(),
    outcome: text("outcome").notNull(),
    error: jsonb("error"),
    /** When the call to the app started; `at` is when its outcome was recorded. */
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    durationMs: integer("duration_ms").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("engine_attempts_run_idx").on(t.runId, t.id)],
);

export const engineSchedules = pgTable("engine_schedules", {
  functionId: text("function_id").primaryKey(),
  cron: text("cron").notNull(),
  nextAt: timestamp("next_at", { withTimezone: true }).notNull(),
});
