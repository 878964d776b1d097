"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Plug, Plus, Trash2 } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { formatDateTime, formatRelative } from "@/components/ui/format";
import { Badge, EmptyState, Loading, PageHeader } from "@/components/ui/states";
import { DataTable } from "@/components/ui/table";
import { roleCan } from "@/server/permissions";
import { endpointLabel, feedLabel, providerLabel, STATUS_LABEL, STATUS_TONE } from "./labels";
import { refetchAfterChange } from "@/components/providers/query-client";

export function ConnectorsPage() {
  const org = useOrg();
  const trpc = useTRPC();
  const list = useQuery(trpc.connectors.list.queryOptions({ orgId: org.id }));
  const canManage = roleCan(org.role, "connectors.manage");
  const queryClient = useQueryClient();
  const [toRemove, setToRemove] = useState<RouterOutputs["connectors"]["list"][number] | null>(null);
  const remove = useMutation(
    trpc.connectors.remove.mutationOptions({
      onSuccess: async () => {
        setToRemove(null);
        await refetchAfterChange(queryClient, { queryKey: trpc.connectors.list.queryKey() });
      },
    }),
  );
  const anyDisconnected = canManage && (list.data?.some((c) => c.status === "disconnected") ?? false);
  return (
    <>
      <PageHeader
        title="Connectors"
        description="Credentials for the storage your containers sync from, shared across the organization. Credentials are encrypted and never shown again."
        actions={
          canManage && (
            <Link
              href={`/o/${org.slug}/connectors/new`}
              className="inline-flex items-center gap-1.5 rounded-md bg-brand-600 px-3.5 py-2 text-sm font-medium text-white hover:bg-brand-700"
            >
              <Plus className="size-4" aria-hidden /> Add connector
            </Link>
          )
        }
      />
      {list.isPending && <Loading />}
      {list.error && <Alert>{describeError(list.error).message}</Alert>}
      {list.data?.length === 0 && (
        <EmptyState icon={<Plug className="size-8" />} title="No connectors yet">
          {canManage
            ? "Add an Amazon S3 or S3-compatible connector; containers can then sync a bucket or a prefix of it."
            : "Owners and Admins add connectors; once one exists, editors can attach its buckets to containers."}
        </EmptyState>
      )}
      {list.data && list.data.length > 0 && (
        <DataTable
          label="Connectors"
          stickyLastColumn={anyDisconnected}
          columns={[
            "Label",
            "Provider",
            { label: "Endpoint", className: "hidden xl:table-cell" },
            { label: "Region", className: "hidden lg:table-cell" },
            "Test bucket",
            "Status",
            { label: "Last checked", className: "hidden lg:table-cell" },
            "Feeds",
            ...(anyDisconnected ? [{ label: "Actions", hidden: true as const }] : []),
          ]}
        >
          {list.data.map((c) => (
            <tr key={c.id}>
              <td className="px-4 py-2.5 font-medium">
                <Link
                  href={`/o/${org.slug}/connectors/${c.id}`}
                  className="text-zinc-900 hover:text-brand-700 hover:underline"
                >
                  {c.label}
                </Link>
              </td>
              <td className="px-4 py-2.5 text-zinc-600">{providerLabel(c.provider)}</td>
              <td className="hidden max-w-56 truncate px-4 py-2.5 text-zinc-600 xl:table-cell">
                {endpointLabel(c.endpoint)}
              </td>
              <td className="hidden px-4 py-2.5 text-zinc-600 lg:table-cell">{c.region}</td>
              <td className="px-4 py-2.5 font-mono text-xs break-all text-zinc-600">
                {c.testBucket}/{c.testPrefix}
              </td>
              <td className="px-4 py-2.5">
                <span title={c.lastError ?? undefined}>
                  <Badge tone={STATUS_TONE[c.status]}>{STATUS_LABEL[c.status]}</Badge>
                </span>
              </td>
              <td className="hidden px-4 py-2.5 whitespace-nowrap text-zinc-600 lg:table-cell">
                {c.lastCheckedAt ? (
                  <time dateTime={c.lastCheckedAt.toISOString()} title={formatDateTime(c.lastCheckedAt)}>
                    {formatRelative(c.lastCheckedAt)}
                  </time>
                ) : (
                  "Never"
                )}
              </td>
              <td className="px-4 py-2.5 text-xs text-zinc-600">
                {c.feeds.length === 0 ? (
                  "No sources"
                ) : (
                  <ul>
                    {c.feeds.map((feed, i) => (
                      <li key={i} className="font-mono">
                        {feedLabel(feed)}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              {anyDisconnected && (
                <td className="px-4 py-2.5 text-right">
                  {c.status === "disconnected" && (
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Remove ${c.label} from the list`}
                      onClick={() => setToRemove(c)}
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
        open={toRemove !== null}
        onOpenChange={(open) => !open && setToRemove(null)}
        title={`Remove ${toRemove?.label ?? "connector"} from the list?`}
        description={
          <>
            It is already disconnected: its credentials are gone and its sources were cleaned up. Removing it only takes
            it off this list; its credential access log is kept for the audit trail.
            {remove.error && <span className="mt-2 block text-red-600">{describeError(remove.error).message}</span>}
          </>
        }
        confirmLabel="Remove"
        pending={remove.isPending}
        onConfirm={() => toRemove && remove.mutate({ orgId: org.id, connectorId: toRemove.id })}
      />
    </>
  );
}
