/**
 * The app's side of "a job never runs twice at once". When the engine gives up on a call (timeout, lost
 * lease, shutdown) the app may still be running it, and the next call of the job may reach another
 * process. So a call of the embedded engine (it names its job in JOB_HEADER) runs only while the app
 * holds a Postgres advisory lock for that job; a call finding it held is answered 409 busy and comes back
 * later. The locks live on one connection per process, so a process that dies releases its locks with it.
 */
import "server-only";
import type postgres from "postgres";
import { BUSY_HEADER, JOB_HEADER } from "./headers";

type Handler = (req: Request, ...rest: unknown[]) => Promise<Response>;

export class JobGuard {
  private readonly held = new Set<string>();
  private connection: Promise<postgres.ReservedSql> | null = null;

  constructor(private readonly sql: () => postgres.Sql) {}

  /** Wraps the SDK's POST handler. */
  wrap(handler: Handler): Handler {
    return async (req, ...rest) => {
      const job = req.headers.get(JOB_HEADER);
      if (job === null || !/^\d{1,19}$/.test(job)) return handler(req, ...rest);
      const acquired = await this.acquire(job).catch(() => null);
      if (acquired === null)
        return Response.json({ error: "The job lock could not be taken: database unavailable" }, { status: 503 });
      if (!acquired)
        return Response.json(
          { error: `Job ${job} is still running here` },
          { status: 409, headers: { [BUSY_HEADER]: "true" } },
        );
      try {
        return await handler(req, ...rest);
      } finally {
        await this.release(job);
      }
    };
  }

  /** Gives the lock connection back to its pool (every lock it held is released with it). */
  async close(): Promise<void> {
    const connection = await this.connection?.catch(() => null);
    this.connection = null;
    connection?.release();
  }

  private lockConnection(): Promise<postgres.ReservedSql> {
    this.connection ??= this.sql()
      .reserve()
      .catch((error: unknown) => {
        this.connection = null;
        throw error;
      });
    return this.connection;
  }

  private async acquire(job: string): Promise<boolean> {
    if (this.held.has(job)) return false;
    this.held.add(job);
    try {
      const connection = await this.lockConnection();
      const [row] = await connection`select pg_try_advisory_lock(hashtextextended(${`wire-job:${job}`}, 0)) as locked`;
      if (row?.locked) return true;
    } catch (error) {
      this.connection = null; // a broken lock connection is replaced on the next call
      this.held.delete(job);
      throw error;
    }
    this.held.delete(job);
    return false;
  }

  private async release(job: string) {
    try {
      const connection = await this.lockConnection();
      await connection`select pg_advisory_unlock(hashtextextended(${`wire-job:${job}`}, 0))`;
    } catch {
      this.connection = null; // the lock went with the connection
    } finally {
      this.held.delete(job);
    }
  }
}
