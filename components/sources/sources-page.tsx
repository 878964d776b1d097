"use client";
import { useDebounced } from "@/components/ui/use-debounced";
import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { Database, History, RefreshCw, Trash2 } from "lucide-react";
import Link from "next/link";
import { useEffect, useId, useRef, useState, type SubmitEvent } from "react";
import { formErrors } from "@/components/ui/form-errors";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { SelectField, TextField } from "@/components/ui/field";
import { formatDateTime } from "@/components/ui/format";
import { Loading } from "@/components/ui/states";
import { DataTable } from "@/components/ui/table";
import { useHydrated } from "@/components/ui/use-hydrated";
import { ErrorDetails, SourcePill } from "./source-pill";
import { formText } from "@/components/ui/form-data";
import { refetchAfterChange } from "@/components/providers/query-client";

/**
 * Refetches what a sync or an attach changes (list, runs, failed files), not the Add bucket form's prefix
 * preview, which would list the bucket again and log another credential read for nothing.
 */
function refetchSourceState(queryClient: QueryClient, trpc: ReturnType<typeof useTRPC>) {
  return Promise.all(
    [trpc.sources.list, trpc.sources.runs, trpc.sources.failedFiles].map((procedure) =>
      refetchAfterChange(queryClient, { queryKey: procedure.queryKey() }),
    ),
  );
}

export function SourcesPage({ containerId }: { containerId: string }) {
  const trpc = useTRPC();
  const container = useQuery(trpc.containers.get.queryOptions({ containerId }));
  // The container comes hydrated from the layout; its controls wait for React (see useHydrated).
  const canEdit = useHydrated() && (container.data?.level === "edit" || container.data?.level === "manage");
  const list = useQuery({
    ...trpc.sources.list.queryOptions({ containerId }),
    // Live while anything is queued or running; slower otherwise.
    refetchInterval: (query) =>
      query.state.data?.some((s) => s.status === "pending" || s.status === "syncing") ? 1000 : 15_000,
  });
  const [open, setOpen] = useState(false);
  const hasSources = (list.data?.length ?? 0) > 0;

  return (
    <section className="rounded-lg bg-white ring-1 ring-zinc-200" aria-label="Source providers">
      <div className="flex items-center justify-between gap-4 px-4 py-4">
        <div className="flex items-start gap-3">
          <Database className="mt-0.5 size-5 text-zinc-500" aria-hidden />
          <div>
            <div className="font-medium text-zinc-900">Amazon S3</div>
            <p className="text-sm text-zinc-500">
              Sync a bucket, or a prefix of one, from S3 or any S3-compatible storage.
            </p>
          </div>
        </div>
        {canEdit && (
          <Button variant="secondary" onClick={() => setOpen((o) => !o)} aria-expanded={open}>
            {hasSources ? "Edit" : "Setup"}
          </Button>
        )}
      </div>
      {list.isPending && (
        <div className="px-4">
          <Loading />
        </div>
      )}
      {list.error && (
        <div className="px-4 pb-4">
          <Alert>{describeError(list.error).message}</Alert>
        </div>
      )}
      {list.data && list.data.length > 0 && (
        <ul className="divide-y divide-zinc-100 border-t border-zinc-200" aria-label="Sources">
          {list.data.map((source) => (
            <SourceRow key={source.id} containerId={containerId} source={source} canEdit={canEdit} editing={open} />
          ))}
        </ul>
      )}
      {open && canEdit && <AddBucketForm containerId={containerId} onAdded={() => setOpen(false)} />}
    </section>
  );
}

/** A row of the sources list, typed by the router (what the server sends, never a copy of it). */
type SourceItem = RouterOutputs["sources"]["list"][number];

/** After the server answered Sync now, the button rests this long showing "Sync requested" before it takes another press. */
const SYNC_REQUESTED_MS = 3000;

function SourceRow({
  containerId,
  source,
  canEdit,
  editing,
}: {
  containerId: string;
  source: SourceItem;
  canEdit: boolean;
  editing: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => refetchSourceState(queryClient, trpc);
  // Sync now is disabled until the server has answered and the list shows the answer, then rests a moment
  // saying so: a run can start and even finish within that time, and a burst of presses is one request, not
  // a request and a follow-up run. `inFlight` closes the gap before React re-renders with isPending.
  const inFlight = useRef(false);
  const [requested, setRequested] = useState(false);
  const syncNow = useMutation(
    trpc.sources.syncNow.mutationOptions({
      onSuccess: () => setRequested(true),
      onSettled: () => refresh(),
    }),
  );
  useEffect(() => {
    if (!requested) return;
    const timer = setTimeout(() => setRequested(false), SYNC_REQUESTED_MS);
    return () => clearTimeout(timer);
  }, [requested]);
  const [confirming, setConfirming] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [showError, setShowError] = useState(false);
  const errorDetailsId = useId();
  const historyId = useId();
  const detach = useMutation(
    trpc.sources.detach.mutationOptions({
      onSuccess: () => setConfirming(false),
      onSettled: async () => {
        await refresh();
        await refetchAfterChange(queryClient, { queryKey: trpc.files.pathKey() });
      },
    }),
  );
  const busy = source.status === "pending" || source.status === "syncing";
  const where = `${source.bucket}/${source.prefix}`;
  // Each row's buttons say which source they act on (screen readers list buttons out of their rows).
  const named = `${source.prefix || "the whole bucket"} from bucket ${source.bucket}`;
  const syncLabel = requested
    ? "Sync requested"
    : busy && source.followUpRequested
      ? "Queued after current sync"
      : "Sync now";
  return (
    <li className="px-4 py-3" aria-label={where}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="min-w-0">
          <div className="font-mono text-sm break-all text-zinc-900">{where}</div>
          <div className="text-xs text-zinc-500">via {source.connectorLabel}</div>
        </div>
        <div className="flex min-w-0 flex-wrap items-center gap-3">
          <SourcePill
            status={source.status}
            lastError={source.lastError}
            lastSyncedAt={source.lastSyncedAt}
            queuedAt={source.queuedAt}
            lastProgressAt={source.lastProgressAt}
            progress={source.progress}
            errorDetailsId={errorDetailsId}
            errorExpanded={showError}
            onToggleError={() => setShowError((s) => !s)}
          />
          {canEdit && (
            <Button
              variant="secondary"
              size="sm"
              pending={syncNow.isPending}
              disabled={requested}
              // The visible label stays at the start of the name (what speech-input users say to press it).
              aria-label={syncLabel === "Sync now" ? `Sync now ${named}` : `${syncLabel}: ${named}`}
              onClick={() => {
                if (inFlight.current) return;
                inFlight.current = true;
                // After the hook's onSettled (the refreshed list): the button opens again once it shows the answer.
                syncNow.mutate(
                  { containerId, sourceId: source.id },
                  { onSettled: () => void (inFlight.current = false) },
                );
              }}
              title={busy ? "A sync is in flight; one more runs after it." : undefined}
            >
              {!syncNow.isPending && <RefreshCw className="size-3.5" aria-hidden />}
              {syncLabel}
            </Button>
          )}
          <Button
            variant="ghost"
            size="sm"
            onClick={() => setShowHistory((s) => !s)}
            aria-expanded={showHistory}
            aria-controls={historyId}
            aria-label={`History of ${named}`}
          >
            <History className="size-3.5" aria-hidden /> History
          </Button>
          {canEdit && editing && (
            <Button variant="ghost" size="sm" aria-label={`Detach ${where}`} onClick={() => setConfirming(true)}>
              <Trash2 className="size-4" aria-hidden />
            </Button>
          )}
        </div>
      </div>
      {source.status === "error" && (
        <ErrorDetails id={errorDetailsId} lastError={source.lastError} hidden={!showError} />
      )}
      {syncNow.error && (
        <div className="mt-2">
          <Alert>{describeError(syncNow.error).message}</Alert>
        </div>
      )}
      <div id={historyId}>
        {showHistory && <RunHistory containerId={containerId} sourceId={source.id} />}
        {showHistory && <FailedFiles containerId={containerId} sourceId={source.id} canEdit={canEdit} />}
      </div>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Detach ${where}?`}
        description={
          <>
            Wire stops syncing it and removes every file it pulled from this container, with their entries, embeddings
            and stored copies. Your bucket is not touched. Attaching it again starts a fresh backfill.
            {detach.error && <span className="mt-2 block text-red-600">{describeError(detach.error).message}</span>}
          </>
        }
        confirmLabel="Detach"
        pending={detach.isPending}
        onConfirm={() => detach.mutate({ containerId, sourceId: source.id })}
      />
    </li>
  );
}

const TRIGGER = { backfill: "Backfill", schedule: "Scheduled", manual: "Manual" } as const;

function RunHistory({ containerId, sourceId }: { containerId: string; sourceId: string }) {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.sources.runs.queryOptions({ containerId, sourceId }), refetchInterval: 3000 });
  if (runs.isPending) return <Loading />;
  if (runs.error) return <Alert>{describeError(runs.error).message}</Alert>;
  if (!runs.data.length) return <p className="mt-2 text-sm text-zinc-500">No runs yet.</p>;
  return (
    <div className="mt-3">
      <DataTable
        dense
        label="Sync runs"
        columns={["Trigger", "Started", "Duration", "Listed", "Added", "Updated", "Removed", "Failed", "Result"]}
      >
        {runs.data.map((run) => (
          <tr key={run.id}>
            <td className="px-3 py-2">{TRIGGER[run.trigger]}</td>
            <td className="px-3 py-2 whitespace-nowrap">{formatDateTime(run.startedAt)}</td>
            <td className="px-3 py-2">
              {run.finishedAt
                ? `${Math.max(0, Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 100) / 10)} s`
                : "running"}
            </td>
            <td className="px-3 py-2">{run.listed}</td>
            <td className="px-3 py-2">{run.added}</td>
            <td className="px-3 py-2">{run.updated}</td>
            <td className="px-3 py-2">{run.removed}</td>
            <td className="px-3 py-2">{run.failed}</td>
            <td className="px-3 py-2">
              {run.status === "failed" ? <span className="text-red-700">{run.error ?? "Failed"}</span> : run.status}
              {run.status === "running" && run.error && (
                <span className="mt-1 block text-amber-700">Retrying: {run.error}</span>
              )}
              {run.status === "cancelled" && run.error && <span className="mt-1 block text-zinc-500">{run.error}</span>}
              {run.truncated && (
                <span className="mt-1 block text-amber-700">
                  Stopped at the per-run object limit: split the prefix into narrower sources.
                </span>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}

function FailedFiles({ containerId, sourceId, canEdit }: { containerId: string; sourceId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const failed = useQuery(trpc.sources.failedFiles.queryOptions({ containerId, sourceId }));
  const retry = useMutation(
    trpc.files.retry.mutationOptions({
      onSettled: () => refetchAfterChange(queryClient, { queryKey: trpc.sources.failedFiles.queryKey() }),
    }),
  );
  if (!failed.data?.length) return null;
  return (
    <div className="mt-3">
      <h4 className="text-xs font-semibold text-zinc-700 uppercase">Files that failed processing</h4>
      <ul className="mt-1 divide-y divide-zinc-100 rounded-md text-xs ring-1 ring-zinc-200" aria-label="Failed files">
        {failed.data.map((file) => (
          <li key={file.id} className="flex items-center justify-between gap-3 px-3 py-2">
            <span className="min-w-0">
              <span className="font-mono">{file.name}</span>
              <span className="ml-2 text-red-700">{file.error}</span>
            </span>
            {canEdit && (
              <Button variant="secondary" size="sm" onClick={() => retry.mutate({ containerId, fileId: file.id })}>
                Retry
              </Button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

const ADD_FIELDS = ["connectorId", "bucket", "prefix"] as const;

function AddBucketForm({ containerId, onAdded }: { containerId: string; onAdded: () => void }) {
  const org = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const connectors = useQuery(trpc.connectors.list.queryOptions({ orgId: org.id }));
  const usable = connectors.data?.filter((c) => c.status === "active") ?? [];
  const attach = useMutation(
    trpc.sources.attach.mutationOptions({
      onSuccess: async () => {
        // Close first: a press of Edit while the list refetches must open a fresh form, not close this one.
        onAdded();
        await refetchSourceState(queryClient, trpc);
      },
    }),
  );
  const errors = formErrors(attach.error, ADD_FIELDS);
  const [connectorId, setConnectorId] = useState("");
  const [bucket, setBucket] = useState("");
  const [prefix, setPrefix] = useState("");
  const chosenConnector = connectorId || usable[0]?.id || "";

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    attach.mutate({
      containerId,
      connectorId: formText(form, "connectorId"),
      bucket: formText(form, "bucket").trim(),
      prefix: formText(form, "prefix") || undefined,
    });
  }

  if (connectors.isPending)
    return (
      <div className="border-t border-zinc-200 px-4">
        <Loading />
      </div>
    );
  if (!usable.length) {
    return (
      <div className="border-t border-zinc-200 px-4 py-4">
        <Alert tone="info">
          No working connector yet. An Owner or Admin adds one under{" "}
          <Link className="font-medium underline" href={`/o/${org.slug}/connectors`}>
            Organization → Connectors
          </Link>
          .
        </Alert>
      </div>
    );
  }
  return (
    <form
      onSubmit={onSubmit}
      className="space-y-3 border-t border-zinc-200 px-4 py-4"
      aria-label="Add bucket"
      noValidate
    >
      <h3 className="text-sm font-semibold text-zinc-900">Add bucket</h3>
      {errors.form && <Alert>{errors.form}</Alert>}
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <SelectField
          label="Connector"
          name="connectorId"
          value={chosenConnector}
          onChange={(e) => setConnectorId(e.target.value)}
          error={errors.field("connectorId")}
        >
          {usable.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Bucket"
          name="bucket"
          required
          spellCheck={false}
          value={bucket}
          onChange={(e) => setBucket(e.target.value)}
          error={errors.field("bucket")}
        />
        <TextField
          label="Prefix (optional)"
          name="prefix"
          spellCheck={false}
          placeholder="reports/2026/"
          hint="Leave empty to sync the whole bucket."
          value={prefix}
          onChange={(e) => setPrefix(e.target.value)}
          error={errors.field("prefix")}
        />
      </div>
      <PrefixPreview
        containerId={containerId}
        connectorId={chosenConnector}
        bucket={bucket.trim()}
        prefix={prefix}
        onUsePrefix={setPrefix}
      />
      <div className="flex justify-end">
        <Button type="submit" pending={attach.isPending}>
          {attach.isPending ? "Checking bucket…" : "Add"}
        </Button>
      </div>
    </form>
  );
}

const count = new Intl.NumberFormat("en-US");

/**
 * Before Add: how many objects the bucket/prefix holds (one listing page, so "1,000+" beyond that), a warning
 * for zero (a typo, or a prefix not filled yet: not an error, it can still be added), and for a prefix without
 * a trailing "/" what else it matches, with a one-click fix to the folder it probably means.
 */
function PrefixPreview({
  containerId,
  connectorId,
  bucket,
  prefix,
  onUsePrefix,
}: {
  containerId: string;
  connectorId: string;
  bucket: string;
  prefix: string;
  onUsePrefix: (prefix: string) => void;
}) {
  const trpc = useTRPC();
  const input = useDebounced({ containerId, connectorId, bucket, prefix }, 400);
  // Only well-formed input is sent (the Add button reports the rest on its fields).
  const ready = input.connectorId !== "" && input.bucket.length >= 3 && !input.prefix.startsWith("/");
  const preview = useQuery({
    ...trpc.sources.previewPrefix.queryOptions(input),
    enabled: ready,
    retry: false,
    staleTime: 10_000,
  });
  const where = input.prefix ? `"${input.prefix}"` : "The whole bucket";
  const suggestedFolder = preview.data?.openEnded?.folder;
  return (
    <div aria-live="polite" className="space-y-2 text-sm" data-testid="prefix-preview">
      {ready && preview.isFetching && !preview.data && (
        <p className="text-zinc-500">Looking at {input.prefix ? `"${input.prefix}"` : "the bucket"}…</p>
      )}
      {ready && preview.error && (
        <p className="text-zinc-500">Could not look inside yet: {describeError(preview.error).message}</p>
      )}
      {ready && preview.data && (
        <>
          {preview.data.objectCount === 0 ? (
            <Alert tone="warning">
              {where} holds no objects yet. Check the {input.prefix ? "prefix" : "bucket"} for a typo; you can still add
              it, and files appear once objects do.
            </Alert>
          ) : (
            <p className="text-zinc-600" data-testid="prefix-object-count">
              {where} holds{" "}
              {preview.data.capped
                ? `${count.format(preview.data.objectCount)}+`
                : count.format(preview.data.objectCount)}{" "}
              {preview.data.objectCount === 1 && !preview.data.capped ? "object" : "objects"}.
            </p>
          )}
          {preview.data.openEnded && (
            <Alert tone="warning">
              <p>
                &quot;{input.prefix}&quot; does not end in &quot;/&quot;, so it matches every key that starts with it
                {preview.data.openEnded.alsoMatches.length > 0 ? (
                  <>
                    , including{" "}
                    {preview.data.openEnded.alsoMatches.map((m, i) => (
                      <span key={m}>
                        {i > 0 && ", "}
                        <code className="font-mono">{m}</code>
                      </span>
                    ))}
                    {preview.data.openEnded.more && " and more"}.
                  </>
                ) : (
                  ", including folders added later."
                )}
              </p>
              {suggestedFolder && (
                <Button variant="secondary" size="sm" className="mt-2" onClick={() => onUsePrefix(suggestedFolder)}>
                  Use {suggestedFolder}
                </Button>
              )}
            </Alert>
          )}
        </>
      )}
    </div>
  );
}
