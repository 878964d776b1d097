/**
 * The worker pool of one process: `concurrency` loops that claim a job, run it (executor.ts) and go on
 * with the run's next job while it is theirs. Idle loops sleep until woken: a notification that work
 * appeared or a slot freed (LISTEN/NOTIFY, one loop woken per notification, which wakes the next if it
 * found work), or the time the next job falls due. The same pool fires cron schedules and prunes old runs.
 */
import "server-only";
import type postgres from "postgres";
import type { Logger } from "@/server/logger";
import { runLease, type EngineContext } from "./executor";
import { claimJob, NOTIFY_CHANNEL, type Claim, type Lease } from "./queue";
import { FUNCTIONS_CHANNEL, nextCronTime } from "./registry";
import { pruneHistory, type RetentionPolicy } from "./retention";
import { createRun } from "./runs";
import { date, json, timestamp } from "./sql";

export interface WorkerOptions {
  concurrency: number;
  /** Longest an idle loop sleeps without a notification (a safety net; notifications do the real work). */
  maxIdleMs: number;
  retention: RetentionPolicy;
  log: Logger;
}

const CRON_RECHECK_MS = 60_000;
const RETENTION_EVERY_MS = 10 * 60_000;

export class WorkerPool {
  private stopping = false;
  /** While paused, loops finish what they hold and take nothing new. */
  private paused = false;
  private readonly stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private parked: (() => void)[] = [];
  /** A notification that came while no loop was idle: the next loop to go idle looks again first. */
  private missedWake = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimerAt = Infinity;
  private cronTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>)[] = [];

  constructor(
    private readonly ctx: EngineContext,
    private readonly options: WorkerOptions,
  ) {}

  private get sql(): postgres.Sql {
    return this.ctx.sql;
  }

  async start(): Promise<void> {
    const jobs = await this.sql.listen(NOTIFY_CHANNEL, () => this.wakeOne());
    const functions = await this.sql.listen(FUNCTIONS_CHANNEL, () => {
      this.ctx.functions.invalidate();
      void this.armCron();
    });
    this.unlisten = [() => jobs.unlisten(), () => functions.unlisten()];
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
    await this.armCron();
    this.retentionTimer = setInterval(() => void this.prune(), RETENTION_EVERY_MS);
    this.retentionTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort(); // calls in flight give their jobs back at once
    clearTimeout(this.cronTimer);
    clearTimeout(this.idleTimer);
    clearInterval(this.retentionTimer);
    for (const wake of this.parked.splice(0)) wake();
    await Promise.all(this.loops);
    await Promise.all(this.unlisten.map((u) => u().catch(() => {})));
  }

  /** Stops taking jobs (calls in flight finish); resume() takes them again. */
  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
    for (const wake of this.parked.splice(0)) wake();
  }

  private wakeOne() {
    const wake = this.parked.shift();
    if (wake) wake();
    else this.missedWake = true;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.paused) {
        await this.park(null);
        continue;
      }
      let claim: Claim;
      try {
        claim = await claimJob(this.sql, { owner: this.ctx.owner, leaseMs: this.ctx.leaseMs });
      } catch (error) {
        this.options.log.error({ err: error }, "engine: claiming a job failed");
        await this.park(null, 1000);
        continue;
      }
      if (!claim.lease) {
        await this.park(claim.nextDueAt);
        continue;
      }
      let lease: Lease | null = claim.lease;
      if (this.parked.length) this.wakeOne(); // there may be more work: let the next idle loop look
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() sets this.stopping during the awaits; TypeScript keeps its narrowing from the check above
      while (lease && !this.stopping) {
        const current: Lease = lease;
        lease = await runLease(this.ctx, current, {
          stop: this.stopController.signal,
          mayContinue: () => !this.stopping && !this.paused,
        }).catch(async (error: unknown) => {
          // Unexpected (database down mid-record): the lease expires and the job is taken over then.
          this.options.log.error({ err: error, jobId: current.job.id }, "engine: job failed unexpectedly");
          await new Promise((r) => setTimeout(r, 1000));
          return null;
        });
      }
    }
  }

  /** Sleeps until a notification, `dueAt` (the next job falling due), or `maxMs`, whichever comes first. */
  private async park(dueAt: Date | null, maxMs = this.options.maxIdleMs): Promise<void> {
    if (this.stopping) return;
    if (this.missedWake) {
      this.missedWake = false;
      return;
    }
    const woken = new Promise<void>((resolve) => this.parked.push(resolve));
    this.armIdleTimer(Math.min(maxMs, dueAt ? Math.max(0, dueAt.getTime() - Date.now()) : maxMs));
    await woken;
  }

  /** One timer for the whole pool, set to the earliest time any idle loop should look again. */
  private armIdleTimer(delayMs: number) {
    const at = Date.now() + delayMs;
    if (this.idleTimer && this.idleTimerAt <= at) return;
    clearTimeout(this.idleTimer);
    this.idleTimerAt = at;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.idleTimerAt = Infinity;
      this.wakeOne();
    }, delayMs);
  }

  /** Sets the cron timer for the earliest schedule (re-read at least every minute, as other processes may register). */
  private async armCron(): Promise<void> {
    if (this.stopping) return;
    const [row] = await this.sql<{ at: string | null }[]>`select min(next_at) as at from engine_schedules`.catch(() => [
      { at: null },
    ]);
    const delay = row?.at ? Math.max(0, date(row.at).getTime() - Date.now()) : CRON_RECHECK_MS;
    clearTimeout(this.cronTimer);
    this.cronTimer = setTimeout(
      () => void this.fireSchedules().finally(() => void this.armCron()),
      Math.min(delay, CRON_RECHECK_MS),
    );
  }

  /** Starts the runs of cron schedules that are due; SKIP LOCKED keeps two processes from firing one twice. */
  async fireSchedules(): Promise<void> {
    if (this.stopping) return;
    await this.sql
      .begin(async (tx) => {
        const due = await tx<{ function_id: string; cron: string; next_at: string | Date }[]>`
          select * from engine_schedules where next_at <= now() for update skip locked`;
        for (const schedule of due) {
          const nextAt = date(schedule.next_at);
          const fn = await this.ctx.functions.get(schedule.function_id);
          if (fn) {
            const event = {
              id: `cron-${schedule.function_id}-${nextAt.getTime()}`,
              name: "inngest/scheduled.timer",
              data: { cron: schedule.cron },
              ts: Date.now(),
            };
            const stored = await tx`
              insert into engine_events (id, name, data, ts) values (${event.id}, ${event.name}, ${json(event.data)}::jsonb, ${event.ts})
              on conflict do nothing returning id`;
            if (stored.length) await createRun(tx, fn, event);
          }
          // A schedule missed while no process ran fires once, then continues from now.
          const following = nextCronTime(schedule.cron, new Date(Math.max(Date.now(), nextAt.getTime())));
          await tx`update engine_schedules set next_at = ${timestamp(following)} where function_id = ${schedule.function_id} and cron = ${schedule.cron}`;
        }
      })
      .catch((error: unknown) => this.options.log.error({ err: error }, "engine: cron scheduling failed"));
  }

  async prune(): Promise<void> {
    if (this.stopping) return;
    await pruneHistory(this.sql, this.options.retention).catch((error: unknown) =>
      this.options.log.error({ err: error }, "engine: pruning old runs failed"),
    );
  }
}
