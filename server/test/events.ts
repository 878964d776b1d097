import type { EventSender } from "@/inngest/events";

/** An EventSender that keeps what services send, for tests that check which events a change emits. */
export function recordingEvents(): EventSender & { sent: { name: string; data: Record<string, unknown> }[] } {
  const sent: { name: string; data: Record<string, unknown> }[] = [];
  return {
    sent,
    async send(payload) {
      sent.push({ name: payload.name, data: payload.data });
    },
  };
}
