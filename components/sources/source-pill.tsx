"use client";
import { ChevronDown } from "lucide-react";
import { useId } from "react";
import { formatDateTime, formatRelative } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { RouterOutputs } from "@/components/providers/trpc";
import { errorAdvice } from "./error-advice";

type SourceItem = RouterOutputs["sources"]["list"][number];
type Status = SourceItem["status"];

const STYLE: Record<Exclude<Status, "archived">, string> = {
  pending: "bg-zinc-100 text-zinc-700",
  syncing: "bg-brand-50 text-brand-700",
  synced: "bg-emerald-50 text-emerald-700",
  error: "bg-red-50 text-red-700",
};
const LABEL = { pending: "Pending", syncing: "Syncing", synced: "Synced", error: "Error" } as const;

/**
 * The source's state. Every pill takes keyboard focus and carries its details as its description
 * (aria-describedby). An Error pill is a button with the reason beside it, truncated; pressing it opens the
 * full reason and what to do in the row itself (ErrorDetails), in the page flow, never over another row.
 */
export function SourcePill({
  status,
  lastError,
  lastSyncedAt,
  queuedAt = null,
  lastProgressAt = null,
  progress,
  errorDetailsId,
  errorExpanded = false,
  onToggleError,
}: {
  status: Status;
  lastError: SourceItem["lastError"];
  lastSyncedAt: SourceItem["lastSyncedAt"];
  /** When the source became Pending, and when its running run last made progress: how long it has waited. */
  queuedAt?: SourceItem["queuedAt"];
  lastProgressAt?: SourceItem["lastProgressAt"];
  progress: SourceItem["progress"];
  /** The id of the row's ErrorDetails, which the Error button controls. */
  errorDetailsId?: string;
  errorExpanded?: boolean;
  onToggleError?: () => void;
}) {
  const detailId = useId();
  if (status === "archived") return null;
  const pill = (
    <span
      className={cn(
        "inline-flex shrink-0 items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium",
        STYLE[status],
      )}
      data-testid="source-pill"
    >
      {status === "syncing" && <span className="size-1.5 animate-pulse rounded-full bg-brand-600" aria-hidden />}
      {LABEL[status]}
    </span>
  );
  if (status === "error") {
    const reason = lastError ?? "The last sync failed.";
    return (
      <button
        type="button"
        className="flex max-w-full min-w-0 items-center gap-2 rounded-md text-left"
        aria-expanded={errorExpanded}
        aria-controls={errorDetailsId}
        aria-describedby={errorDetailsId}
        onClick={onToggleError}
        title={reason}
      >
        {pill}
        <span className="max-w-[14rem] truncate text-xs text-red-700 sm:max-w-xs" data-testid="source-error-reason">
          {reason}
        </span>
        <ChevronDown
          className={cn("size-3.5 shrink-0 text-red-700 transition-transform", errorExpanded && "rotate-180")}
          aria-hidden
        />
      </button>
    );
  }
  const detail =
    status === "syncing" && progress
      ? `${progress.listed} listed · ${progress.processed} processed${progress.failed ? ` · ${progress.failed} failed` : ""}${
          lastProgressAt ? ` · last progress ${formatRelative(lastProgressAt)}` : ""
        }`
      : status === "synced" && lastSyncedAt
        ? `last synced ${formatRelative(lastSyncedAt)}`
        : status === "pending"
          ? queuedAt
            ? `queued ${formatRelative(queuedAt)}`
            : "queued"
          : null;
  const retrying = status === "syncing" ? (progress?.retrying ?? null) : null;
  return (
    <span className="inline-flex min-w-0 flex-wrap items-center gap-x-2">
      {/* Focusable so keyboard and screen-reader users reach the state and hear its details. */}
      <span tabIndex={0} className="rounded-full" aria-describedby={detail || retrying ? detailId : undefined}>
        {pill}
      </span>
      {(detail || retrying) && (
        <span
          id={detailId}
          className="min-w-0 text-xs text-zinc-500"
          title={lastSyncedAt ? formatDateTime(lastSyncedAt) : undefined}
        >
          {detail}
          {retrying && (
            // The engine is retrying: say why now, not only once the retries run out.
            <span
              className="block max-w-[16rem] truncate text-amber-700 sm:max-w-sm"
              title={retrying}
              data-testid="source-retrying"
            >
              Retrying: {retrying}
            </span>
          )}
        </span>
      )}
    </span>
  );
}

/** The Error pill's full reason and the advice for its cause, shown in the row under it. */
export function ErrorDetails({ id, lastError, hidden }: { id: string; lastError: string | null; hidden: boolean }) {
  return (
    <div
      id={id}
      hidden={hidden}
      className="mt-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800"
      data-testid="source-error-details"
    >
      <p className="break-words">{lastError ?? "The last sync failed."}</p>
      <p className="mt-1 text-red-700">{errorAdvice(lastError)}</p>
    </div>
  );
}
