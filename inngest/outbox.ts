/**
 * The outbox (db/schema/outbox.ts): services record the events a change implies in the change's own
 * transaction, and the relay sends them once it has committed — at once, and again every few seconds for
 * anything a crash left behind. Every event carries a stable id (`outbox-<row id>` unless it names its own),
 * so an event relayed twice (two processes, a send whose answer was lost) is deduplicated by the engine or
 * Inngest, and a row is deleted only after its send succeeded.
 */
import "server-only";
import { asc, inArray } from "drizzle-orm";
import { getDb, type Database, type DbOrTx } from "@/db/client";
import { outbox } from "@/db/schema";
import { logger, type Logger } from "@/server/logger";
import { inngest } from "./client";

export interface OutboxEvent {
  /** An idempotency key of the caller's (e.g. one per import batch); the row id otherwise. */
  id?: string;
  name: string;
  data: Record<string, unknown>;
}

/** The part of the Inngest client the relay needs. */
export interface EventSender {
  send(payload: { id?: string; name: string; data: Record<string, unknown> }[]): Promise<unknown>;
}

export interface EventOutbox {
  /** Records events in the caller's transaction; they are sent after it commits (call `flush`). */
  record(tx: DbOrTx, events: OutboxEvent[]): Promise<void>;
  /**
   * Sends what is recorded: call it once the recording transaction has committed. Never rejects (what
   * cannot be sent now is sent by the relay later); await it where the caller should see the event ingested.
   */
  flush(): Promise<void>;
}

const BATCH = 500;

export class Outbox implements EventOutbox {
  private relaying: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly db: Database,
    private readonly sender: EventSender,
    private readonly log?: Logger,
  ) {}

  async record(tx: DbOrTx, events: OutboxEvent[]): Promise<void> {
    if (events.length) await tx.insert(outbox).values(events.map((event) => ({ event })));
  }

  flush(): Promise<void> {
    return this.relay();
  }

  /** Sends everything recorded so far; resolves when the outbox was empty at some point after the call. */
  relay(): Promise<void> {
    if (this.relaying) {
      this.again = true;
      return this.relaying;
    }
    this.relaying = (async () => {
      do {
        this.again = false;
        await this.relayOnce();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- relay() sets this.again while relayOnce is awaited; TypeScript keeps its narrowing to false
      } while (this.again);
    })()
      .catch((error: unknown) => this.log?.warn({ err: error }, "outbox: events not sent yet, will retry"))
      .finally(() => (this.relaying = null));
    return this.relaying;
  }

  /** Relays every few seconds: whatever a crash (or an unreachable engine) left behind goes out then. */
  start(everyMs = 5000) {
    setInterval(() => void this.relay(), everyMs).unref();
    void this.relay();
  }

  private async relayOnce() {
    for (;;) {
      const rows = await this.db.select().from(outbox).orderBy(asc(outbox.id)).limit(BATCH);
      if (!rows.length) return;
      await this.sender.send(rows.map((row) => ({ ...row.event, id: row.event.id ?? `outbox-${row.id}` })));
      await this.db.delete(outbox).where(
        inArray(
          outbox.id,
          rows.map((r) => r.id),
        ),
      );
      if (rows.length < BATCH) return;
    }
  }
}

const state = globalThis as unknown as { __wireOutbox?: Outbox };

/** The process's outbox, relaying to the Inngest client (the embedded engine, or Inngest when configured). */
export function eventOutbox(): Outbox {
  state.__wireOutbox ??= new Outbox(getDb(), inngest, logger.child({ component: "outbox" }));
  return state.__wireOutbox;
}
