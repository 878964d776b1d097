/**
 * A source's status, and every move between statuses, in one place. Writers move a source only through
 * `moveSource`, which lands only from a status the table allows (so a late writer cannot, say, bring back
 * an archived source or mark a source Synced that was never Syncing).
 *
 *   pending ──start──▶ syncing ──finish──▶ synced ──request──▶ pending (──lost, re-queued──▶ pending)
 *      │                  │  └──finish with a follow-up asked──▶ pending
 *      └─cannot start─▶ error ◀──fail──┘        error ──request──▶ pending
 *   any but archived ──detach / disconnect──▶ archived (final)
 */
import "server-only";
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { sources } from "@/db/schema";

export type SourceStatus = (typeof sources.$inferSelect)["status"];

/** For each status, the statuses a source may move to from it. */
export const SOURCE_TRANSITIONS: Record<SourceStatus, readonly SourceStatus[]> = {
  pending: ["pending", "syncing", "error", "archived"],
  syncing: ["synced", "error", "pending", "archived"],
  synced: ["pending", "archived"],
  error: ["pending", "archived"],
  archived: [],
};

export function canMove(from: SourceStatus, to: SourceStatus): boolean {
  return SOURCE_TRANSITIONS[from].includes(to);
}

/** The statuses from which a source may move to `to`. */
export function statusesLeadingTo(to: SourceStatus): SourceStatus[] {
  return (Object.keys(SOURCE_TRANSITIONS) as SourceStatus[]).filter((from) => canMove(from, to));
}

type SourceFields = Partial<Omit<typeof sources.$inferInsert, "id" | "status" | "containerId" | "connectorId">>;

/**
 * Moves the sources matching `where` to `to`, with `fields`, from whichever allowed status they are in
 * (optionally only from `from`). Returns the moved rows' ids: none when no source was in a status allowed to move.
 */
export async function moveSource(
  db: DbOrTx,
  where: SQL | undefined,
  to: SourceStatus,
  options: { from?: SourceStatus[]; fields?: SourceFields } = {},
): Promise<{ id: string; containerId: string; connectorId: string; followUpRequested: boolean }[]> {
  const allowed = statusesLeadingTo(to).filter((s) => !options.from || options.from.includes(s));
  if (!allowed.length) return [];
  return db
    .update(sources)
    .set({ ...options.fields, status: to })
    .where(and(where, inArray(sources.status, allowed)))
    .returning({
      id: sources.id,
      containerId: sources.containerId,
      connectorId: sources.connectorId,
      followUpRequested: sources.followUpRequested,
    });
}

export const sourceIs = (sourceId: string) => eq(sources.id, sourceId);
