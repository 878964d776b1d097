"use client";
import { Tooltip } from "radix-ui";
import { formatDateTime, formatRelative } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";

type Status = "pending" | "syncing" | "synced" | "error" | "archived";

const STYLE: Record<Exclude<Status, "archived">, string> = {
  pending: "bg-zinc-100 text-zinc-700",
  syncing: "bg-brand-50 text-brand-700",
  synced: "bg-emerald-50 text-emerald-700",
  error: "bg-red-50 text-red-700",
};
const LABEL = { pending: "Pending", syncing: "Syncing", synced: "Synced", error: "Error" } as const;

/** The source's state; the Error pill is focusable and shows what went wrong and what to do. */
export function SourcePill({
  status,
  lastError,
  lastSyncedAt,
  progress,
}: {
  status: Status;
  lastError: string | null;
  lastSyncedAt: Date | null;
  progress: { listed: number; processed: number; failed: number } | null;
}) {
  if (status === "archived") return null;
  const pill = (
    <span className={cn("inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium", STYLE[status])} data-testid="source-pill">
      {status === "syncing" && <span className="size-1.5 animate-pulse rounded-full bg-brand-600" aria-hidden />}
      {LABEL[status]}
    </span>
  );
  const detail =
    status === "syncing" && progress
      ? `${progress.listed} listed · ${progress.processed} processed${progress.failed ? ` · ${progress.failed} failed` : ""}`
      : status === "synced" && lastSyncedAt
        ? `last synced ${formatRelative(lastSyncedAt)}`
        : status === "pending"
          ? "queued"
          : null;
  return (
    <span className="inline-flex items-center gap-2">
      {status === "error" ? (
        <Tooltip.Provider delayDuration={100}>
          <Tooltip.Root>
            <Tooltip.Trigger asChild>
              <button type="button" className="rounded-full" aria-label={`Error: ${lastError ?? "the last sync failed"}`}>
                {pill}
              </button>
            </Tooltip.Trigger>
            <Tooltip.Portal>
              <Tooltip.Content sideOffset={6} className="z-50 max-w-sm rounded-md bg-zinc-900 px-3 py-2 text-xs text-white shadow-lg" role="tooltip">
                {lastError ?? "The last sync failed."} Fix the cause, then press Sync now. If the credentials stopped working, an Owner or Admin can re-test them under Organization → Connectors.
                <Tooltip.Arrow className="fill-zinc-900" />
              </Tooltip.Content>
            </Tooltip.Portal>
          </Tooltip.Root>
        </Tooltip.Provider>
      ) : (
        pill
      )}
      {detail && (
        <span className="text-xs text-zinc-500" title={lastSyncedAt ? formatDateTime(lastSyncedAt) : undefined}>
          {detail}
        </span>
      )}
    </span>
  );
}
