"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Check, Copy, KeyRound, Plus } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState, type SubmitEvent } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog, Dialog } from "@/components/ui/dialog";
import { controlClass, TextField } from "@/components/ui/field";
import { formatRelative } from "@/components/ui/format";
import { Badge, EmptyState, Loading } from "@/components/ui/states";
import { formText } from "@/components/ui/form-data";
import { useHydrated } from "@/components/ui/use-hydrated";
import { refetchAfterChange } from "@/components/providers/query-client";

const ROLE_LABEL = { owner: "Owner", admin: "Admin", member: "Member" } as const;

export function AccessPage({ containerId }: { containerId: string }) {
  const trpc = useTRPC();
  const container = useQuery(trpc.containers.get.queryOptions({ containerId }));
  // The container comes hydrated from the layout; the forms below wait for React (see useHydrated).
  const hydrated = useHydrated();
  if (container.isPending || !hydrated) return <Loading />;
  if (container.error) return <Alert>{describeError(container.error).message}</Alert>;
  const level = container.data.level;
  return (
    <div className="space-y-10">
      {level === "manage" ? (
        <PeopleSection containerId={containerId} />
      ) : (
        <Alert tone="info">
          You {level === "edit" ? "can edit" : "can view"} this container. Owners and Admins of the organization manage
          who else has access.
        </Alert>
      )}
      {level !== "view" && <TokensSection containerId={containerId} />}
      {level === "manage" && <DeleteSection containerId={containerId} name={container.data.name} />}
    </div>
  );
}

function PeopleSection({ containerId }: { containerId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const people = useQuery(trpc.containers.access.list.queryOptions({ containerId }));
  const set = useMutation(
    trpc.containers.access.set.mutationOptions({
      onSuccess: () =>
        refetchAfterChange(queryClient, { queryKey: trpc.containers.access.list.queryKey({ containerId }) }),
    }),
  );
  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading" className="text-base font-semibold text-zinc-900">
        People
      </h2>
      <p className="mb-3 text-sm text-zinc-500">
        Owners and Admins manage every container. Give Members view or edit access here.
      </p>
      {set.error && <Alert>{describeError(set.error).message}</Alert>}
      {people.isPending && <Loading />}
      {people.data && (
        <ul className="divide-y divide-zinc-200 rounded-lg bg-white ring-1 ring-zinc-200">
          {people.data.map((p) => (
            <li key={p.userId} className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3">
              <div className="min-w-0">
                <div className="text-sm font-medium text-zinc-900">{p.name}</div>
                <div className="text-xs break-all text-zinc-500">
                  {p.email} · {ROLE_LABEL[p.role]}
                </div>
              </div>
              {p.role === "member" ? (
                <select
                  aria-label={`Access for ${p.email}`}
                  className={`${controlClass} w-36`}
                  value={p.grant ?? ""}
                  disabled={set.isPending}
                  onChange={(e) =>
                    set.mutate({
                      containerId,
                      userId: p.userId,
                      level: e.target.value === "" ? null : (e.target.value as "view" | "edit"),
                    })
                  }
                >
                  <option value="">No access</option>
                  <option value="view">Can view</option>
                  <option value="edit">Can edit</option>
                </select>
              ) : (
                <Badge tone="blue">Manages all containers</Badge>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TokensSection({ containerId }: { containerId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.apiTokens.list.queryOptions({ containerId }));
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const [toRevoke, setToRevoke] = useState<RouterOutputs["apiTokens"]["list"][number] | null>(null);
  const refresh = () => refetchAfterChange(queryClient, { queryKey: trpc.apiTokens.list.queryKey({ containerId }) });
  const create = useMutation(
    trpc.apiTokens.create.mutationOptions({
      onSuccess: async (result) => {
        setCreated(result.token);
        await refresh();
      },
    }),
  );
  const revoke = useMutation(
    trpc.apiTokens.revoke.mutationOptions({
      onSuccess: async () => {
        setToRevoke(null);
        await refresh();
      },
    }),
  );

  function onCreate(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ containerId, name: formText(new FormData(event.currentTarget), "name") });
  }

  function closeCreate(open: boolean) {
    if (open) return;
    setCreating(false);
    setCreated(null);
    create.reset();
  }

  return (
    <section aria-labelledby="tokens-heading">
      <div className="mb-3 flex flex-wrap items-end justify-between gap-4">
        <div>
          <h2 id="tokens-heading" className="text-base font-semibold text-zinc-900">
            Agent API tokens
          </h2>
          <p className="text-sm text-zinc-500">
            Agents use a token to read and write files in this container, and only this container. A token acts with its
            creator&apos;s rights: it stops working while its creator is not a member with edit access here.
          </p>
        </div>
        <Button variant="secondary" onClick={() => setCreating(true)}>
          <Plus className="size-4" aria-hidden /> New token
        </Button>
      </div>
      {tokens.isPending && <Loading />}
      {tokens.data?.length === 0 && (
        <EmptyState icon={<KeyRound className="size-7" />} title="No API tokens">
          Create one to let an agent write files here.
        </EmptyState>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <ul className="divide-y divide-zinc-200 rounded-lg bg-white ring-1 ring-zinc-200">
          {tokens.data.map((t) => (
            <li key={t.id} className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3">
              <div className="min-w-0">
                <div className="text-sm font-medium text-zinc-900">{t.name}</div>
                <div className="text-xs text-zinc-500">
                  <code>{t.displayPrefix}…</code> · created {formatRelative(t.createdAt)} ·{" "}
                  {t.lastUsedAt ? `last used ${formatRelative(t.lastUsedAt)}` : "never used"}
                </div>
              </div>
              <Button variant="ghost" size="sm" onClick={() => setToRevoke(t)}>
                Revoke
              </Button>
            </li>
          ))}
        </ul>
      )}

      <Dialog
        open={creating}
        onOpenChange={closeCreate}
        title={created ? "Copy your token now" : "New API token"}
        description={
          created
            ? "This is the only time Wire shows it. Store it in your agent's secrets."
            : "Name it after the agent that will use it."
        }
      >
        {created ? (
          <CreatedToken token={created} containerId={containerId} onDone={() => closeCreate(false)} />
        ) : (
          <form onSubmit={onCreate} className="space-y-4">
            <TextField
              label="Token name"
              name="name"
              required
              maxLength={80}
              autoFocus
              error={create.error ? describeError(create.error).message : null}
            />
            <div className="flex justify-end gap-2">
              <Button variant="secondary" onClick={() => closeCreate(false)}>
                Cancel
              </Button>
              <Button type="submit" pending={create.isPending}>
                Create token
              </Button>
            </div>
          </form>
        )}
      </Dialog>

      <ConfirmDialog
        open={toRevoke !== null}
        onOpenChange={(open) => !open && setToRevoke(null)}
        title="Revoke token?"
        description={
          <>
            Agents using <strong>{toRevoke?.name}</strong> will lose access to this container at once.
          </>
        }
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        onConfirm={() => toRevoke && revoke.mutate({ containerId, tokenId: toRevoke.id })}
      />
    </section>
  );
}

function DeleteSection({ containerId, name }: { containerId: string; name: string }) {
  const org = useOrg();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation(
    trpc.containers.delete.mutationOptions({
      onSuccess: async () => {
        await refetchAfterChange(queryClient, { queryKey: trpc.containers.list.queryKey() });
        router.replace(`/o/${org.slug}/containers`);
      },
    }),
  );
  return (
    <section aria-labelledby="delete-heading" className="rounded-lg p-4 ring-1 ring-red-200">
      <h2 id="delete-heading" className="text-base font-semibold text-zinc-900">
        Delete container
      </h2>
      <p className="mt-1 mb-3 text-sm text-zinc-500">
        Removes the container, every file in it with its stored copy, its grants and its API tokens.
      </p>
      <Button variant="danger" onClick={() => setConfirming(true)}>
        Delete container
      </Button>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Delete ${name}?`}
        description={
          <>
            Everyone loses access to <strong>{name}</strong> and its files at once. This cannot be undone.
            {remove.error && <span className="mt-2 block text-red-600">{describeError(remove.error).message}</span>}
          </>
        }
        confirmLabel="Delete container"
        pending={remove.isPending}
        onConfirm={() => remove.mutate({ containerId })}
      />
    </section>
  );
}

function CreatedToken({ token, containerId, onDone }: { token: string; containerId: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  return (
    <div className="space-y-4">
      <div className="flex items-center gap-2">
        <code data-testid="api-token" className="block min-w-0 flex-1 truncate rounded bg-zinc-100 px-2 py-1.5 text-xs">
          {token}
        </code>
        <Button
          variant="secondary"
          size="sm"
          onClick={() => {
            void navigator.clipboard.writeText(token).then(() => setCopied(true));
          }}
        >
          {copied ? <Check className="size-4" aria-hidden /> : <Copy className="size-4" aria-hidden />}
          {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      <div>
        <p className="mb-1 text-xs font-medium text-zinc-600">Write a file:</p>
        <pre tabIndex={0} className="overflow-x-auto rounded bg-zinc-900 p-3 text-xs text-zinc-100">
          {`curl -X PUT --data-binary @notes.md \\
  -H "Authorization: Bearer $WIRE_TOKEN" \\
  -H "Content-Type: text/markdown" \\
  ${origin}/api/v1/containers/${containerId}/files/notes.md`}
        </pre>
      </div>
      <div className="flex justify-end">
        <Button onClick={onDone}>Done</Button>
      </div>
    </div>
  );
}
