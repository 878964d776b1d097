import type { EventOutbox, OutboxEvent } from "@/inngest/outbox";

/**
 * An outbox that keeps what services record, for tests that check which events a change implies. It keeps
 * them whether or not the recording transaction commits: tests of rollback use the real outbox table.
 */
export function recordingEvents(): EventOutbox & { sent: { name: string; data: Record<string, unknown> }[] } {
  const sent: { name: string; data: Record<string, unknown> }[] = [];
  return {
    sent,
    record(_tx, events: OutboxEvent[]) {
      for (const event of events) sent.push({ name: event.name, data: event.data });
      return Promise.resolve();
    },
    async flush() {},
  };
}
