"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ChevronLeft, RefreshCw } from "lucide-react";
import Link from "next/link";
import { useState, type SubmitEvent } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { TextField } from "@/components/ui/field";
import { formatDateTime, formatRelative } from "@/components/ui/format";
import { Badge, Loading } from "@/components/ui/states";
import { DataTable } from "@/components/ui/table";
import { roleCan } from "@/server/permissions";
import { formErrors } from "@/components/ui/form-errors";
import { endpointLabel, feedLabel, providerLabel, STATUS_LABEL, STATUS_TONE } from "./labels";
import { formText } from "@/components/ui/form-data";
import { refetchAfterChange } from "@/components/providers/query-client";

export function ConnectorDetail({ connectorId }: { connectorId: string }) {
  const org = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = roleCan(org.role, "connectors.manage");
  const connector = useQuery(trpc.connectors.get.queryOptions({ orgId: org.id, connectorId }));
  const refresh = () => refetchAfterChange(queryClient, { queryKey: trpc.connectors.pathKey() });
  const retest = useMutation(trpc.connectors.retest.mutationOptions({ onSettled: refresh }));
  const [confirming, setConfirming] = useState(false);
  const disconnect = useMutation(
    trpc.connectors.disconnect.mutationOptions({
      onSuccess: () => setConfirming(false),
      onSettled: refresh,
    }),
  );

  if (connector.isPending) return <Loading />;
  if (connector.error) return <Alert>{describeError(connector.error).message}</Alert>;
  const c = connector.data;
  const disconnected = c.status === "disconnected";

  return (
    <div className="space-y-8">
      <div>
        <Link
          href={`/o/${org.slug}/connectors`}
          className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800"
        >
          <ChevronLeft className="size-4" aria-hidden /> Connectors
        </Link>
        <div className="flex flex-wrap items-center justify-between gap-4">
          <div className="flex items-center gap-3">
            <h1 className="text-xl font-semibold text-zinc-900">{c.label}</h1>
            <Badge tone={STATUS_TONE[c.status]}>{STATUS_LABEL[c.status]}</Badge>
          </div>
          {canManage && !disconnected && (
            <div className="flex gap-2">
              <Button
                variant="secondary"
                pending={retest.isPending}
                onClick={() => retest.mutate({ orgId: org.id, connectorId })}
              >
                {!retest.isPending && <RefreshCw className="size-4" aria-hidden />} Re-test
              </Button>
              <Button variant="danger" onClick={() => setConfirming(true)}>
                Disconnect
              </Button>
            </div>
          )}
        </div>
      </div>

      {retest.error && <Alert>{describeError(retest.error).message}</Alert>}
      {c.status === "invalid_credentials" && (
        <Alert>
          These credentials no longer work{c.lastError ? `: ${c.lastError}` : "."} Replace them below, or disconnect and
          connect again.
        </Alert>
      )}
      {c.status === "active" && c.lastError && <Alert>The last check failed: {c.lastError}</Alert>}
      {retest.isSuccess && c.status === "active" && !c.lastError && <Alert tone="success">The credentials work.</Alert>}

      <dl className="grid grid-cols-1 gap-x-8 gap-y-3 rounded-lg bg-white p-5 text-sm ring-1 ring-zinc-200 sm:grid-cols-2">
        {[
          ["Provider", providerLabel(c.provider)],
          ["Endpoint", endpointLabel(c.endpoint)],
          ["Region", c.region],
          ["Test bucket", c.testBucket],
          ["Test prefix", c.testPrefix || "None (the whole bucket)"],
          [
            "Last checked",
            c.lastCheckedAt ? `${formatRelative(c.lastCheckedAt)} (${formatDateTime(c.lastCheckedAt)})` : "Never",
          ],
          ["Credentials", disconnected ? "Wiped when disconnected" : "Encrypted; never shown"],
          ["Feeds", c.feeds.length ? c.feeds.map(feedLabel).join(", ") : "No sources"],
        ].map(([term, value]) => (
          <div key={term}>
            <dt className="text-zinc-500">{term}</dt>
            <dd className="font-medium text-zinc-900">{value}</dd>
          </div>
        ))}
      </dl>

      {canManage && !disconnected && <EditForm connector={c} onSaved={() => void refresh()} />}
      {canManage && <AccessLog connectorId={connectorId} />}

      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Disconnect ${c.label}?`}
        description={
          <>
            <p>
              The credentials are wiped for good. Every container this connector feeds has its synced files removed in
              the background.
            </p>
            {c.feeds.length === 0 ? (
              <p className="mt-2">This connector feeds no containers.</p>
            ) : (
              <>
                <p className="mt-2">It feeds:</p>
                <ul className="mt-1 list-disc pl-5" aria-label="Sources this connector feeds">
                  {c.feeds.map((feed, i) => (
                    <li key={i}>{feedLabel(feed)}</li>
                  ))}
                </ul>
              </>
            )}
            <p className="mt-2">Connecting again later, even with the same credentials, makes a new connector.</p>
            {disconnect.error && (
              <span className="mt-2 block text-red-600">{describeError(disconnect.error).message}</span>
            )}
          </>
        }
        confirmLabel="Disconnect"
        pending={disconnect.isPending}
        onConfirm={() => disconnect.mutate({ orgId: org.id, connectorId })}
      />
    </div>
  );
}

const EDIT_FIELDS = [
  "label",
  "region",
  "testBucket",
  "testPrefix",
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
] as const;

function EditForm({ connector, onSaved }: { connector: RouterOutputs["connectors"]["get"]; onSaved: () => void }) {
  const org = useOrg();
  const trpc = useTRPC();
  const [replacing, setReplacing] = useState(false);
  const update = useMutation(
    trpc.connectors.update.mutationOptions({
      onSuccess: () => {
        setReplacing(false);
        onSaved();
      },
    }),
  );
  const errors = formErrors(update.error, EDIT_FIELDS);

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => formText(form, name).trim();
    update.mutate({
      orgId: org.id,
      connectorId: connector.id,
      label: text("label"),
      region: text("region"),
      testBucket: text("testBucket"),
      testPrefix: formText(form, "testPrefix"),
      credentials: replacing
        ? {
            accessKeyId: text("accessKeyId"),
            secretAccessKey: formText(form, "secretAccessKey"),
            sessionToken: text("sessionToken") || undefined,
          }
        : null,
    });
  }

  return (
    <form
      onSubmit={onSubmit}
      className="space-y-4 rounded-lg bg-white p-5 ring-1 ring-zinc-200"
      aria-label="Edit connector"
      noValidate
    >
      <h2 className="text-base font-semibold text-zinc-900">Edit</h2>
      {errors.form && <Alert>{errors.form}</Alert>}
      {update.isSuccess && <Alert tone="success">Saved.</Alert>}
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
        <TextField
          label="Label"
          name="label"
          defaultValue={connector.label}
          required
          maxLength={80}
          error={errors.field("label")}
        />
        <TextField label="Region" name="region" defaultValue={connector.region} error={errors.field("region")} />
        <TextField
          label="Test bucket"
          name="testBucket"
          defaultValue={connector.testBucket}
          error={errors.field("testBucket")}
        />
        <TextField
          label="Test prefix (optional)"
          name="testPrefix"
          defaultValue={connector.testPrefix}
          spellCheck={false}
          hint="Where Re-test lists; set it when the credentials may only list a prefix."
          error={errors.field("testPrefix")}
        />
      </div>
      {replacing ? (
        <fieldset className="grid grid-cols-1 gap-4 sm:grid-cols-3">
          <legend className="mb-2 text-sm font-medium text-zinc-700">
            New credentials (the current ones are never shown)
          </legend>
          <TextField label="Access key ID" name="accessKeyId" autoComplete="off" error={errors.field("accessKeyId")} />
          <TextField
            label="Secret access key"
            name="secretAccessKey"
            type="password"
            autoComplete="new-password"
            error={errors.field("secretAccessKey")}
          />
          <TextField
            label="Session token (optional)"
            name="sessionToken"
            type="password"
            autoComplete="off"
            error={errors.field("sessionToken")}
          />
        </fieldset>
      ) : (
        <Button variant="secondary" size="sm" onClick={() => setReplacing(true)}>
          Replace credentials
        </Button>
      )}
      <div className="flex justify-end gap-2">
        {replacing && (
          <Button variant="secondary" onClick={() => setReplacing(false)}>
            Keep current credentials
          </Button>
        )}
        <Button type="submit" pending={update.isPending}>
          Save
        </Button>
      </div>
    </form>
  );
}

function AccessLog({ connectorId }: { connectorId: string }) {
  const org = useOrg();
  const trpc = useTRPC();
  const log = useQuery(trpc.connectors.accessLog.queryOptions({ orgId: org.id, connectorId }));
  return (
    <section aria-labelledby="access-log-heading">
      <h2 id="access-log-heading" className="text-base font-semibold text-zinc-900">
        Credential access log
      </h2>
      <p className="mb-3 text-sm text-zinc-500">
        Every time Wire decrypted these credentials: by whom or by which job, and why.
      </p>
      {log.isPending && <Loading />}
      {log.error && <Alert>{describeError(log.error).message}</Alert>}
      {log.data?.length === 0 && <p className="text-sm text-zinc-500">Never read since they were stored.</p>}
      {log.data && log.data.length > 0 && (
        <DataTable label="Credential access log" columns={["When", "By", "Why"]}>
          {log.data.map((r) => (
            <tr key={r.id}>
              <td className="px-4 py-2.5 whitespace-nowrap text-zinc-600">{formatDateTime(r.at)}</td>
              <td className="px-4 py-2.5">
                {r.actorType === "user"
                  ? r.actorName
                    ? `${r.actorName} (${r.actorEmail})`
                    : "A former member"
                  : `Job: ${r.actorId}`}
              </td>
              <td className="px-4 py-2.5 text-zinc-600">{r.purpose}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
