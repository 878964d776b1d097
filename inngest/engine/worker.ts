/**
 * Workers take due jobs with FOR UPDATE SKIP LOCKED and hold the row lock while the job runs, so a job
 * runs in one place at a time across every process; if a process dies its connection closes, the lock
 * goes with it and another worker (or the restarted process) takes the job over.
 */
import { asc, eq, lte, sql } from "drizzle-orm";
import type postgres from "postgres";
import type { Database } from "@/db/client";
import { engineJobs, engineSchedules, engineEvents } from "@/db/schema";
import type { Logger } from "@/server/logger";
import { executeJob, type ExecutorOptions } from "./executor";
import { loadFunction, nextCronTime } from "./registry";
import { createRun } from "./runs";

export interface WorkerOptions {
  concurrency: number;
  pollMs: number;
  executor: ExecutorOptions;
  log: Logger;
}

export class WorkerPool {
  private stopping = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  private unlisten: (() => Promise<void>) | undefined;
  private cronTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly sql: postgres.Sql,
    private readonly options: WorkerOptions,
  ) {}

  async start(): Promise<void> {
    const listener = await this.sql.listen("wire_engine_jobs", () => this.wakeAll());
    this.unlisten = () => listener.unlisten();
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
    this.cronTimer = setInterval(() => void this.fireSchedules(), 1000);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.cronTimer);
    this.wakeAll();
    await Promise.all(this.loops);
    await this.unlisten?.().catch(() => {});
  }

  private wakeAll() {
    for (const wake of this.wakers) wake();
  }

  /** Waits for a notification, the next scheduled job, or the poll interval, whichever comes first. */
  private async idle(): Promise<void> {
    const [next] = await this.db
      .select({ runAt: sql<Date | null>`min(${engineJobs.runAt})`.mapWith((v) => (v ? new Date(v) : null)) })
      .from(engineJobs)
      .catch(() => [{ runAt: null }]);
    const untilNext = next?.runAt ? Math.max(0, next.runAt.getTime() - Date.now()) : this.options.pollMs;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(untilNext, this.options.pollMs));
      this.wakers.add(done);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const worked = await this.runOne().catch(async (error: unknown) => {
        this.options.log.error({ err: error }, "engine: job failed unexpectedly");
        await new Promise((r) => setTimeout(r, 1000));
        return false;
      });
      if (!worked && !this.stopping) await this.idle();
    }
  }

  /** Takes and runs one due job; false when there was none. */
  async runOne(): Promise<boolean> {
    const afterCommit: (() => Promise<void>)[] = [];
    let jobId: number | undefined;
    try {
      const worked = await this.db.transaction(async (tx) => {
        const [job] = await tx
          .select()
          .from(engineJobs)
          .where(lte(engineJobs.runAt, sql`now()`))
          .orderBy(asc(engineJobs.runAt), asc(engineJobs.id))
          .limit(1)
          .for("update", { skipLocked: true });
        if (!job) return false;
        jobId = job.id;
        await executeJob(tx, job, this.options.executor, afterCommit);
        return true;
      });
      for (const task of afterCommit) await task().catch((error: unknown) => this.options.log.error({ err: error }, "engine: after-commit task failed"));
      return worked;
    } catch (error) {
      // Keep a job that trips an unexpected error from spinning: look at it again a little later.
      if (jobId !== undefined) {
        await this.db.update(engineJobs).set({ runAt: sql`now() + interval '5 seconds'` }).where(eq(engineJobs.id, jobId));
      }
      throw error;
    }
  }

  /** Starts the runs of cron schedules that are due; SKIP LOCKED keeps two processes from firing one twice. */
  async fireSchedules(): Promise<void> {
    if (this.stopping) return;
    await this.db
      .transaction(async (tx) => {
        const due = await tx.select().from(engineSchedules).where(lte(engineSchedules.nextAt, sql`now()`)).for("update", { skipLocked: true });
        for (const schedule of due) {
          const fn = await loadFunction(tx, schedule.functionId);
          if (fn) {
            const event = {
              id: `cron-${schedule.functionId}-${schedule.nextAt.getTime()}`,
              name: "inngest/scheduled.timer",
              data: { cron: schedule.cron },
              ts: Date.now(),
            };
            const [stored] = await tx.insert(engineEvents).values({ ...event, user: null }).onConflictDoNothing().returning({ id: engineEvents.id });
            if (stored) await createRun(tx, fn, event);
          }
          // A schedule missed while no process ran fires once, then continues from now.
          await tx
            .update(engineSchedules)
            .set({ nextAt: nextCronTime(schedule.cron, new Date(Math.max(Date.now(), schedule.nextAt.getTime()))) })
            .where(eq(engineSchedules.functionId, schedule.functionId));
        }
      })
      .catch((error: unknown) => this.options.log.error({ err: error }, "engine: cron scheduling failed"));
  }
}
