/**
 * The job queue under the engine: leases and concurrency slots, all in short transactions.
 *
 * A worker claims a job by writing a lease (a fresh token, and `due_at` = now + lease) and commits; it then
 * calls the app with no transaction open, pushes `due_at` forward while the call runs, and records the
 * outcome in a second short transaction that lands only if the job still carries its token. A process
 * that dies stops renewing; its leases expire and the jobs are claimed again (attempt + 1).
 *
 * Concurrency is counted as Inngest counts it: a slot is a call in progress (a live lease on a job of the
 * function and key), so sleeping and waiting runs hold none. A claim takes its slot in the claim's own
 * transaction, under an advisory lock per function + key; a finish frees it by deleting or releasing the
 * job in the finish's transaction.
 *
 * Lock order. Every engine transaction takes its locks in this order, and waits only where marked:
 *   1. engine_jobs: the job the transaction holds a lease on, by id + token (waits); any other job row
 *      only with SKIP LOCKED, or by inserting it.
 *   2. the slot advisory lock of one function + key (waits; claims only; never held by a finish).
 *   3. engine_runs: the job's run, FOR UPDATE (waits). Event ingestion, holding no job, starts here.
 *   4. engine_steps, engine_waits, engine_attempts rows of that run.
 * Advisory-lock holders wait only on 3, and run-lock holders never wait on 1 or 2, so no cycle can form.
 * Engine connections set lock_timeout, so a mistake here shows up as an error, not a hang.
 *
 * The engine's statements are postgres.js tagged templates (sql.ts): prepared once per connection, sent
 * together when issued together, with no query-builder work on a path taken hundreds of times a second.
 * A query is sent when it is first awaited or then-ed, so helpers meant to be sent together are plain
 * functions returning `query.then(...)` (sent at the call), never async functions awaiting inside.
 */
import "server-only";
import os from "node:os";
import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import type { engineJobs } from "@/db/schema";
import type { MemoEntry, Run, RunRow } from "./runs";
import { date, timestamp, type Sql } from "./sql";
import { defined } from "@/server/defined";

export type Job = typeof engineJobs.$inferSelect;
export type NewJob = Pick<Job, "runId" | "functionId" | "concurrencyKey" | "concurrencyLimit" | "kind"> &
  Partial<Pick<Job, "stepId" | "dueAt">>;

export interface Lease {
  job: Job;
  token: string;
  /** The job's previous lease expired: its last call may or may not have run. */
  takenOver: boolean;
  /** The run and its saved steps, when the worker going on with its run knows them to be current. */
  state?: { run: Run; memo: MemoEntry[] };
  /** How many slot hand-offs in a row led here (handOffSlot); the chain is broken now and then to share slots. */
  handOffs?: number;
}

/** Hand-offs in a row before a worker gives its slot back to the queue, so other processes get their turn. */
export const MAX_HAND_OFFS = 10;

/** Who holds a lease, for operators: host and process id. */
export const PROCESS_IDENTITY = `${os.hostname()}:${process.pid}`;

export const NOTIFY_CHANNEL = "wire_engine_jobs";

/** Tells idle workers of every process that a job may be claimable (sent once, at commit). */
export function notifyWorkers(sql: Sql) {
  return sql`select pg_notify(${NOTIFY_CHANNEL}, '')`;
}

export interface JobRow {
  id: string;
  run_id: string;
  function_id: string;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  kind: Job["kind"];
  step_id: string | null;
  attempt: number;
  due_at: string | Date;
  lease_token: string | null;
  leased_by: string | null;
  created_at: string | Date;
}

export function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    runId: row.run_id,
    functionId: row.function_id,
    concurrencyKey: row.concurrency_key,
    concurrencyLimit: row.concurrency_limit,
    kind: row.kind,
    stepId: row.step_id,
    attempt: row.attempt,
    dueAt: date(row.due_at),
    leaseToken: row.lease_token,
    leasedBy: row.leased_by,
    createdAt: date(row.created_at),
  };
}

function jobValues(job: NewJob) {
  return {
    run_id: job.runId,
    function_id: job.functionId,
    concurrency_key: job.concurrencyKey,
    concurrency_limit: job.concurrencyLimit,
    kind: job.kind,
    step_id: job.stepId ?? null,
    due_at: timestamp(job.dueAt ?? new Date()),
  };
}

/** Adds jobs (idempotent per run, kind and step) and wakes idle workers. */
export async function enqueueJobs(sql: Sql, jobs: NewJob[]) {
  if (!jobs.length) return;
  await Promise.all([insertJobs(sql, jobs), notifyWorkers(sql)]);
}

export function insertJobs(sql: Sql, jobs: NewJob[]) {
  return sql`insert into engine_jobs ${sql(jobs.map(jobValues))} on conflict do nothing`;
}

/** Inserts a job already leased to `owner` (a worker going straight on with its run); null if it exists. */
export function insertLeasedJob(
  sql: Sql,
  job: NewJob,
  params: { owner: string; leaseMs: number },
): Promise<Lease | null> {
  const token = randomUUID();
  const v = jobValues(job);
  return sql<JobRow[]>`
    insert into engine_jobs (run_id, function_id, concurrency_key, concurrency_limit, kind, step_id, due_at, lease_token, leased_by)
    values (${v.run_id}, ${v.function_id}, ${v.concurrency_key}, ${v.concurrency_limit}, ${v.kind}, ${v.step_id},
      now() + ${params.leaseMs} * interval '1 millisecond', ${token}, ${params.owner})
    on conflict do nothing
    returning *`.then(([row]) => (row ? { job: toJob(row), token, takenOver: false } : null));
}

/**
 * Turns a finished job into the next call of the same kind and step (a run's next discovery), leased to
 * `owner`: the job row is reused, so nothing is deleted or inserted.
 */
export function reuseJobAsLeased(
  sql: Sql,
  job: Job,
  params: { owner: string; leaseMs: number },
): Promise<Lease | null> {
  const token = randomUUID();
  return sql<JobRow[]>`
    update engine_jobs set lease_token = ${token}, leased_by = ${params.owner}, attempt = 0, created_at = now(),
      due_at = now() + ${params.leaseMs} * interval '1 millisecond'
    where id = ${job.id}
    returning *`.then(([row]) => (row ? { job: toJob(row), token, takenOver: false } : null));
}

/**
 * Hands the slot of a finished job straight to the next due job of the same function and key, leased to
 * `owner`, in the finishing transaction: the slot count does not change, so no slot lock is needed, and
 * the worker skips a claim. Jobs are taken in the order a claim would take them (oldest due first), and a
 * claim would take the same job: the slot's older jobs come before any later one of another function.
 */
export function handOffSlot(
  sql: Sql,
  finished: Lease,
  params: { owner: string; leaseMs: number },
): Promise<Lease | null> {
  const handOffs = (finished.handOffs ?? 0) + 1;
  if (handOffs > MAX_HAND_OFFS) return Promise.resolve(null);
  const token = randomUUID();
  return sql<(JobRow & { taken_over: boolean })[]>`
    with candidate as (
      select id, lease_token is not null as taken_over from engine_jobs
      where function_id = ${finished.job.functionId} and concurrency_key is not distinct from ${finished.job.concurrencyKey}
        and due_at <= now() and id <> ${finished.job.id}
      order by due_at, id limit 1
      for update skip locked
    ),
    leased as (
      update engine_jobs j set lease_token = ${token}, leased_by = ${params.owner}, due_at = now() + ${params.leaseMs} * interval '1 millisecond',
        attempt = j.attempt + (case when c.taken_over then 1 else 0 end)
      from candidate c where j.id = c.id
      returning j.*, c.taken_over
    ),
    started as (
      update engine_runs set status = 'running', started_at = now() where id in (select run_id from leased) and status = 'queued'
    )
    select * from leased`.then(([row]) =>
    row ? { job: toJob(row), token, takenOver: row.taken_over, handOffs } : null,
  );
}

/** What a claim found: a lease, or when a worker that found nothing should look again. */
export type Claim = { lease: Lease; nextDueAt?: never } | { lease: null; nextDueAt: Date | null };

/**
 * Claims the oldest due job whose function + key has a free slot, and leases it to `owner`. A due job
 * whose lease expired is taken over with its attempt counted, so a job that kills its process each time
 * still runs out of attempts. A job of a function without a concurrency limit is leased in one statement;
 * a limited one in a transaction that counts its slot under the slot's lock.
 *
 * Finding nothing, it says when the next job that was not due becomes due, read in the same statement: a
 * later read would miss a retry that fell due in between (its notification already spent), and the
 * worker would sleep through it. Due jobs that wait for a slot are left out: the slot's finish notifies.
 */
export async function claimJob(sql: postgres.Sql, params: { owner: string; leaseMs: number }): Promise<Claim> {
  const token = randomUUID();
  const [row] = await sql<
    (JobRow & {
      candidate: string | null;
      taken_over: boolean;
      candidate_limit: number | null;
      next_due_at: string | Date | null;
    })[]
  >`
    with full_slots as (
      select function_id, concurrency_key from engine_jobs
      where lease_token is not null and concurrency_limit is not null and due_at > now()
      group by function_id, concurrency_key, concurrency_limit having count(*) >= concurrency_limit
    ),
    candidate as (
      select j.id, j.lease_token is not null as taken_over, j.concurrency_limit from engine_jobs j
      where j.due_at <= now()
        and not exists (select 1 from full_slots f where f.function_id = j.function_id and f.concurrency_key is not distinct from j.concurrency_key)
      order by j.due_at, j.id limit 1
      for update skip locked
    ),
    leased as (
      update engine_jobs j set lease_token = ${token}, leased_by = ${params.owner}, due_at = now() + ${params.leaseMs} * interval '1 millisecond',
        attempt = j.attempt + (case when c.taken_over then 1 else 0 end)
      from candidate c where j.id = c.id and c.concurrency_limit is null
      returning j.*
    ),
    started as (
      update engine_runs set status = 'running', started_at = now() where id in (select run_id from leased) and status = 'queued'
    )
    select c.id as candidate, c.taken_over, c.concurrency_limit as candidate_limit, l.*,
      case when c.id is null then (select min(due_at) from engine_jobs where due_at > now()) end as next_due_at
    from (select 1) as one left join candidate c on true left join leased l on true`;
  if (!row?.candidate) return { lease: null, nextDueAt: row?.next_due_at ? date(row.next_due_at) : null };
  if (row.candidate_limit === null) return { lease: { job: toJob(row), token, takenOver: row.taken_over } };
  const lease = await claimLimited(sql, row.candidate, { ...params, token });
  // Lost to another claim or a slot that just filled: look again at once (the next claim skips both).
  return lease ? { lease } : { lease: null, nextDueAt: new Date() };
}

async function claimLimited(
  sql: postgres.Sql,
  id: string,
  params: { owner: string; leaseMs: number; token: string },
): Promise<Lease | null> {
  return sql.begin(async (tx) => {
    // The slot's lock is taken as the row is read (the row may turn out locked and be skipped: no harm).
    const [job] = await tx<JobRow[]>`
      select *, pg_advisory_xact_lock(hashtextextended(json_build_array(function_id, concurrency_key)::text, 1)) is null as locked
      from engine_jobs where id = ${id} and due_at <= now() for update skip locked`;
    if (!job) return null; // taken meanwhile
    // Count the slot again under its lock (a new statement sees every claim that held it before).
    const [row] = await tx<JobRow[]>`
        with used as (
          select count(*) as n from engine_jobs
          where function_id = ${job.function_id} and concurrency_key is not distinct from ${job.concurrency_key}
            and lease_token is not null and concurrency_limit is not null and due_at > now() and id <> ${id}
        ),
        leased as (
          update engine_jobs set lease_token = ${params.token}, leased_by = ${params.owner}, due_at = now() + ${params.leaseMs} * interval '1 millisecond',
            attempt = attempt + (case when lease_token is null then 0 else 1 end)
          where id = ${id} and (select n from used) < concurrency_limit
          returning *
        ),
        started as (
          update engine_runs set status = 'running', started_at = now() where id in (select run_id from leased) and status = 'queued'
        )
        select * from leased`;
    return row ? { job: toJob(row), token: params.token, takenOver: job.lease_token !== null } : null;
  });
}

/** Pushes a lease's expiry forward; false when the lease is no longer ours (expired and taken over, or the run ended). */
export async function renewLease(sql: Sql, lease: Lease, leaseMs: number): Promise<boolean> {
  const renewed = await sql`
    update engine_jobs set due_at = now() + ${leaseMs} * interval '1 millisecond'
    where id = ${lease.job.id} and lease_token = ${lease.token} returning id`;
  return renewed.length > 0;
}

/**
 * Locks the leased job for recording its outcome (lock 1 of the order). Null when the lease is no longer
 * ours: the outcome must not land.
 */
/**
 * Locks the leased job and then its run (locks 1 and 3, in that order: the subquery runs first) in one
 * statement. Null when the lease is no longer ours: the outcome must not land.
 */
export function lockLeaseAndRun(tx: Sql, lease: Lease): Promise<RunRow | null> {
  return tx<RunRow[]>`
    select * from engine_runs
    where id = (select run_id from engine_jobs where id = ${lease.job.id} and lease_token = ${lease.token} for update)
    for update`.then(([row]) => row ?? null);
}

export function lockLeasedJob(tx: Sql, lease: Lease): Promise<Job | null> {
  return tx<
    JobRow[]
  >`select * from engine_jobs where id = ${lease.job.id} and lease_token = ${lease.token} for update`.then(([row]) =>
    row ? toJob(row) : null,
  );
}

/** Gives a job back to the queue, due in `delayMs` (database time), with `attempt` (frees its slot). */
export async function releaseJob(tx: Sql, job: Job, params: { delayMs: number; attempt: number }) {
  await Promise.all([
    tx`update engine_jobs set lease_token = null, leased_by = null, due_at = now() + ${Math.round(params.delayMs)} * interval '1 millisecond', attempt = ${params.attempt} where id = ${job.id}`,
    notifyWorkers(tx),
  ]);
}

/** Removes a finished job (frees its slot). */
export async function deleteJob(tx: Sql, job: Job) {
  await Promise.all([tx`delete from engine_jobs where id = ${job.id}`, notifyWorkers(tx)]);
}

export interface QueueStats {
  /** Jobs due now whose slot is free, waiting for a worker. */
  due: number;
  /** Age of the oldest of them, in ms (0 when none). */
  oldestDueMs: number;
  /** Calls in progress (live leases). */
  running: number;
  /** Leases past their expiry that no worker has taken over yet. */
  expiredLeases: number;
  /** Jobs due now that wait for a concurrency slot of their function + key. */
  waitingForSlot: number;
}

export async function queueStats(sql: Sql): Promise<QueueStats> {
  const [row] = await sql<
    { due: number; oldest_due_ms: number | null; running: number; expired: number; waiting: number }[]
  >`
    with full_slots as (
      select function_id, concurrency_key from engine_jobs
      where lease_token is not null and concurrency_limit is not null and due_at > now()
      group by function_id, concurrency_key, concurrency_limit having count(*) >= concurrency_limit
    ),
    due as (
      select j.due_at, j.lease_token,
        exists (select 1 from full_slots f where f.function_id = j.function_id and f.concurrency_key is not distinct from j.concurrency_key) as blocked
      from engine_jobs j where j.due_at <= now()
    )
    select
      (select count(*) from due where not blocked and lease_token is null)::int as due,
      (select (extract(epoch from now() - min(due_at)) * 1000)::float8 from due where not blocked) as oldest_due_ms,
      (select count(*) from engine_jobs where lease_token is not null and due_at > now())::int as running,
      (select count(*) from due where lease_token is not null)::int as expired,
      (select count(*) from due where blocked)::int as waiting`;
  const health = defined(row, "the queue's health row");
  return {
    due: health.due,
    oldestDueMs: Math.max(0, Math.round(health.oldest_due_ms ?? 0)),
    running: health.running,
    expiredLeases: health.expired,
    waitingForSlot: health.waiting,
  };
}
