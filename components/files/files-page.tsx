"use client";
import { useDebounced } from "@/components/ui/use-debounced";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowDown, ArrowUp, ArrowUpDown, FileText, Search, Trash2, Upload } from "lucide-react";
import { useEffect, useRef, useState, type DragEvent } from "react";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { ConfirmDialog } from "@/components/ui/dialog";
import { controlClass } from "@/components/ui/field";
import { formatBytes, formatDateTime, formatRelative } from "@/components/ui/format";
import { Badge, EmptyState, Loading } from "@/components/ui/states";
import { DataTable, type Column } from "@/components/ui/table";
import { useHydrated } from "@/components/ui/use-hydrated";
import type { FileSortKey } from "@/server/schemas";
import { useUpload } from "./use-upload";
import { refetchAfterChange } from "@/components/providers/query-client";

const PAGE_SIZE = 25;
const ORIGIN_LABEL = { upload: "Upload", agent: "Agent", connector: "Connector" } as const;
const STATUS_TONE = { processing: "amber", ready: "green", failed: "red" } as const;
const STATUS_LABEL = { processing: "Processing", ready: "Ready", failed: "Failed" } as const;

export function FilesPage({ containerId }: { containerId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState("");
  const [dragging, setDragging] = useState(false);
  const [toDelete, setToDelete] = useState<RouterOutputs["files"]["list"]["items"][number] | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const query = useDebounced(search, 250);

  const container = useQuery(trpc.containers.get.queryOptions({ containerId }));
  // The container comes hydrated from the layout; its controls wait for React (see useHydrated).
  const canEdit = useHydrated() && (container.data?.level === "edit" || container.data?.level === "manage");
  const [sort, setSort] = useState<{ by: FileSortKey; dir: "asc" | "desc" }>({ by: "updated", dir: "desc" });
  // A page number belongs to one search and sort: another search or sort starts again at page 1.
  const [paging, setPaging] = useState({ query, sort, page: 1 });
  const page = paging.query === query && paging.sort === sort ? paging.page : 1;
  const setPage = (change: (page: number) => number) => setPaging({ query, sort, page: change(page) });
  // The sources query is the one the Sources tab's pills poll: while any source is queued or syncing, new
  // files keep arriving, so this list polls too (the same cache entry, so one request serves both tabs).
  const sources = useQuery({
    ...trpc.sources.list.queryOptions({ containerId }),
    refetchInterval: (q) =>
      q.state.data?.some((s) => s.status === "pending" || s.status === "syncing") ? 1000 : 15_000,
  });
  const sourceSyncing = sources.data?.some((s) => s.status === "pending" || s.status === "syncing") ?? false;
  // A sync can start and finish between two polls of an idle container: whenever a source's state moves
  // (attached, synced again, failed, detached), the files list is fetched again too.
  const sourcesState = sources.data?.map((s) => `${s.id}:${s.status}:${s.lastSyncedAt?.getTime() ?? ""}`).join(",");
  const seenSourcesState = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (sourcesState === undefined) return;
    if (seenSourcesState.current !== undefined && seenSourcesState.current !== sourcesState) {
      void refetchAfterChange(queryClient, { queryKey: trpc.files.list.queryKey() });
    }
    seenSourcesState.current = sourcesState;
  }, [sourcesState, queryClient, trpc]);
  const list = useQuery({
    ...trpc.files.list.queryOptions({ containerId, search: query || undefined, page, pageSize: PAGE_SIZE, sort }),
    placeholderData: keepPreviousData,
    // Files being processed change state on their own, and a syncing source adds files: keep the list live
    // until both settle.
    refetchInterval: (query) =>
      sourceSyncing ? 1000 : query.state.data?.items.some((f) => f.status === "processing") ? 1500 : false,
  });
  const refresh = () => refetchAfterChange(queryClient, { queryKey: trpc.files.list.queryKey() });
  const uploader = useUpload(containerId, () => void refresh());
  const retry = useMutation(trpc.files.retry.mutationOptions({ onSettled: () => refresh() }));
  const remove = useMutation(
    trpc.files.delete.mutationOptions({
      onSuccess: async () => {
        setToDelete(null);
        await refresh();
      },
    }),
  );

  function sortColumn(by: FileSortKey, label: string, className?: string): Column {
    const active = sort.by === by;
    const Icon = active ? (sort.dir === "asc" ? ArrowUp : ArrowDown) : ArrowUpDown;
    return {
      label,
      className,
      ariaSort: active ? (sort.dir === "asc" ? "ascending" : "descending") : "none",
      content: (
        <button
          type="button"
          className="inline-flex items-center gap-1 uppercase hover:text-zinc-800"
          // Pressing the active column flips its direction; a new column starts A→Z / smallest / oldest, except
          // dates, which start newest first.
          onClick={() =>
            setSort(
              active
                ? { by, dir: sort.dir === "asc" ? "desc" : "asc" }
                : { by, dir: by === "updated" ? "desc" : "asc" },
            )
          }
        >
          {label}
          <Icon className="size-3.5" aria-hidden />
        </button>
      ),
    };
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    if (canEdit) void uploader.upload(Array.from(event.dataTransfer.files));
  }

  const data = list.data;
  const totalPages = data ? Math.max(1, Math.ceil(data.total / data.pageSize)) : 1;
  const first = data && data.total ? (data.page - 1) * data.pageSize + 1 : 0;
  const last = data ? Math.min(data.total, data.page * data.pageSize) : 0;

  return (
    <section
      aria-label="Files"
      onDragOver={(e) => {
        if (!canEdit) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      className={cn("rounded-lg", dragging && "ring-2 ring-brand-500 ring-offset-4")}
    >
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <div className="relative w-full max-w-xs">
          <Search className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-zinc-400" aria-hidden />
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Search by name"
            aria-label="Search files by name"
            className={cn(controlClass, "pl-8")}
          />
        </div>
        {canEdit && (
          <>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              data-testid="file-input"
              onChange={(e) => {
                void uploader.upload(Array.from(e.target.files ?? []));
                e.target.value = "";
              }}
            />
            <Button onClick={() => picker.current?.click()} pending={uploader.pending}>
              <Upload className="size-4" aria-hidden />
              {uploader.pending
                ? `Uploading ${uploader.count} ${uploader.count === 1 ? "file" : "files"}…`
                : "Upload files"}
            </Button>
          </>
        )}
      </div>

      {uploader.error && (
        <div className="mb-4">
          <Alert>{uploader.error}</Alert>
        </div>
      )}
      {list.error && <Alert>{describeError(list.error).message}</Alert>}
      {list.isPending && <Loading label="Loading files…" />}

      {data && data.total === 0 && (
        <EmptyState
          icon={<FileText className="size-8" />}
          title={query ? "No files match your search" : "No files yet"}
        >
          {query
            ? "Try another name."
            : canEdit
              ? "Upload files, drop them here, let an agent write them with an API token, or connect a source."
              : "Files appear here when someone with edit access adds them."}
        </EmptyState>
      )}

      {data && data.total > 0 && (
        <DataTable
          label="Files"
          stickyLastColumn={canEdit}
          columns={[
            sortColumn("name", "Name"),
            sortColumn("size", "Size"),
            { label: "Type", className: "hidden 2xl:table-cell" },
            sortColumn("origin", "Origin"),
            "Status",
            sortColumn("updated", "Updated"),
            ...(canEdit ? [{ label: "Actions", hidden: true as const }] : []),
          ]}
          footer={
            <div className="flex items-center justify-between border-t border-zinc-200 px-4 py-2.5 text-sm text-zinc-600">
              <span aria-live="polite">
                {first}–{last} of {data.total}
              </span>
              <div className="flex gap-2">
                <Button variant="secondary" size="sm" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
                  Previous
                </Button>
                <Button
                  variant="secondary"
                  size="sm"
                  disabled={page >= totalPages}
                  onClick={() => setPage((p) => p + 1)}
                >
                  Next
                </Button>
              </div>
            </div>
          }
        >
          {data.items.map((file) => (
            <tr key={file.id}>
              <td className="px-4 py-2.5 font-medium">
                {/* Long names wrap at any character instead of widening the table past the screen. */}
                <a
                  href={`/api/containers/${containerId}/files/${file.id}`}
                  className="block max-w-[14rem] break-all text-zinc-900 hover:text-brand-700 hover:underline lg:max-w-[16rem] 2xl:max-w-sm"
                >
                  {file.name}
                </a>
                <div className="max-w-[14rem] truncate text-xs font-normal text-zinc-500 2xl:hidden">
                  {file.contentType}
                </div>
              </td>
              <td className="px-4 py-2.5 whitespace-nowrap text-zinc-600">{formatBytes(file.size)}</td>
              <td className="hidden px-4 py-2.5 text-zinc-600 2xl:table-cell">
                <div className="max-w-[12rem] truncate" title={file.contentType}>
                  {file.contentType}
                </div>
              </td>
              <td className="px-4 py-2.5">
                <Badge>{ORIGIN_LABEL[file.origin]}</Badge>
                {file.source && (
                  <div className="mt-0.5 max-w-40 truncate font-mono text-xs text-zinc-500" title={file.source}>
                    {file.source}
                  </div>
                )}
              </td>
              <td className="px-4 py-2.5">
                <span title={file.error ?? undefined}>
                  <Badge tone={STATUS_TONE[file.status]}>{STATUS_LABEL[file.status]}</Badge>
                </span>
                {file.status === "failed" && (
                  <div className="mt-1 max-w-48 text-xs break-words text-red-700">
                    {file.error}
                    {canEdit && (
                      <button
                        type="button"
                        className="ml-1 font-medium underline"
                        onClick={() => retry.mutate({ containerId, fileId: file.id })}
                      >
                        Retry
                      </button>
                    )}
                  </div>
                )}
              </td>
              <td className="px-4 py-2.5 whitespace-nowrap text-zinc-600">
                <time dateTime={file.updatedAt.toISOString()} title={formatDateTime(file.updatedAt)}>
                  {formatRelative(file.updatedAt)}
                </time>
              </td>
              {canEdit && (
                <td className="px-4 py-2.5 text-right">
                  {file.origin !== "connector" && (
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Delete ${file.name}`}
                      onClick={() => setToDelete(file)}
                    >
                      <Trash2 className="size-4" aria-hidden />
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </DataTable>
      )}

      <ConfirmDialog
        open={toDelete !== null}
        onOpenChange={(open) => !open && setToDelete(null)}
        title="Delete file?"
        description={
          <>
            <strong>{toDelete?.name}</strong> and its stored copy will be removed from this container. This cannot be
            undone.
            {remove.error && <span className="mt-2 block text-red-600">{describeError(remove.error).message}</span>}
          </>
        }
        confirmLabel="Delete file"
        pending={remove.isPending}
        onConfirm={() => toDelete && remove.mutate({ containerId, fileId: toDelete.id })}
      />
    </section>
  );
}
