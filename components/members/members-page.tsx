"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type SubmitEvent } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC, type RouterOutputs } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { controlClass, SelectField, TextField } from "@/components/ui/field";
import { formatRelative } from "@/components/ui/format";
import { Badge, Loading, PageHeader } from "@/components/ui/states";
import { assignableRoles, roleCan, type OrgRole } from "@/server/permissions";
import { refetchAfterChange } from "@/components/providers/query-client";

const ROLE_LABEL = { owner: "Owner", admin: "Admin", member: "Member" } as const;

export function MembersPage({ currentUserId }: { currentUserId: string }) {
  const org = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.members.list.queryOptions({ orgId: org.id }));
  const refresh = () => refetchAfterChange(queryClient, { queryKey: trpc.members.list.queryKey({ orgId: org.id }) });
  const [toRemove, setToRemove] = useState<RouterOutputs["members"]["list"]["members"][number] | null>(null);
  const changeRole = useMutation(trpc.members.changeRole.mutationOptions({ onSettled: refresh }));
  const remove = useMutation(
    trpc.members.remove.mutationOptions({
      onSuccess: () => setToRemove(null),
      onSettled: refresh,
    }),
  );
  const revoke = useMutation(trpc.members.revokeInvitation.mutationOptions({ onSettled: refresh }));
  const canChangeRoles = roleCan(org.role, "members.changeRole");
  const actionError = changeRole.error ?? revoke.error;

  return (
    <>
      <PageHeader title="Members" description="People in this organization and what they can do." />
      {roleCan(org.role, "members.invite") && <InviteForm onInvited={() => void refresh()} />}
      {actionError && (
        <div className="mb-4">
          <Alert>{describeError(actionError).message}</Alert>
        </div>
      )}
      {list.isPending && <Loading />}
      {list.error && <Alert>{describeError(list.error).message}</Alert>}
      {list.data && (
        <>
          <ul className="divide-y divide-zinc-200 rounded-lg bg-white ring-1 ring-zinc-200" aria-label="Members">
            {list.data.members.map((m) => (
              <li key={m.userId} className="flex flex-wrap items-center justify-between gap-4 px-4 py-3">
                <div>
                  <div className="text-sm font-medium text-zinc-900">
                    {m.name} {m.userId === currentUserId && <span className="text-zinc-500">(you)</span>}
                  </div>
                  <div className="text-xs text-zinc-500">{m.email}</div>
                </div>
                <div className="flex items-center gap-2">
                  {canChangeRoles ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      className={`${controlClass} w-32`}
                      value={m.role}
                      disabled={changeRole.isPending}
                      onChange={(e) =>
                        changeRole.mutate({ orgId: org.id, userId: m.userId, role: e.target.value as OrgRole })
                      }
                    >
                      <option value="owner">Owner</option>
                      <option value="admin">Admin</option>
                      <option value="member">Member</option>
                    </select>
                  ) : (
                    <Badge tone={m.role === "member" ? "zinc" : "blue"}>{ROLE_LABEL[m.role]}</Badge>
                  )}
                  {roleCan(org.role, "members.remove") && (
                    <Button variant="ghost" size="sm" onClick={() => setToRemove(m)}>
                      Remove
                    </Button>
                  )}
                </div>
              </li>
            ))}
          </ul>
          {list.data.invitations.length > 0 && (
            <section className="mt-8" aria-labelledby="invitations-heading">
              <h2 id="invitations-heading" className="mb-2 text-sm font-semibold text-zinc-900">
                Pending invitations
              </h2>
              <p className="mb-3 text-sm text-zinc-500">
                They join with this role when they open their invite link (sent to that address; inviting it again makes
                a new one).
              </p>
              <ul className="divide-y divide-zinc-200 rounded-lg bg-white ring-1 ring-zinc-200">
                {list.data.invitations.map((i) => (
                  <li key={i.id} className="flex items-center justify-between gap-4 px-4 py-3">
                    <div className="text-sm">
                      {i.email}{" "}
                      <span className="text-zinc-500">
                        · {ROLE_LABEL[i.role]} · invited {formatRelative(i.invitedAt)}
                      </span>
                    </div>
                    {roleCan(org.role, "members.invite") && (
                      <Button
                        variant="ghost"
                        size="sm"
                        pending={revoke.isPending && revoke.variables.invitationId === i.id}
                        onClick={() => revoke.mutate({ orgId: org.id, invitationId: i.id })}
                      >
                        Revoke
                      </Button>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
      <ConfirmDialog
        open={toRemove !== null}
        onOpenChange={(open) => {
          if (!open) {
            setToRemove(null);
            remove.reset();
          }
        }}
        title="Remove member?"
        description={
          <>
            <strong>{toRemove?.email}</strong> loses access to this organization and all of its containers.
            {remove.error && <span className="mt-2 block text-red-600">{describeError(remove.error).message}</span>}
          </>
        }
        confirmLabel="Remove member"
        pending={remove.isPending}
        onConfirm={() => toRemove && remove.mutate({ orgId: org.id, userId: toRemove.userId })}
      />
    </>
  );
}

function InviteForm({ onInvited }: { onInvited: () => void }) {
  const org = useOrg();
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<OrgRole>("member");
  const [done, setDone] = useState<{ email: string; link: string; mailed: boolean } | null>(null);
  const [copied, setCopied] = useState(false);
  const invite = useMutation(
    trpc.members.invite.mutationOptions({
      onSuccess: (result, input) => {
        setDone({ email: input.email, link: result.link, mailed: result.mailed });
        setCopied(false);
        setEmail("");
        onInvited();
      },
    }),
  );
  const error = invite.error ? describeError(invite.error) : null;

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    setDone(null);
    invite.mutate({ orgId: org.id, email, role });
  }

  return (
    <form
      onSubmit={onSubmit}
      className="mb-6 rounded-lg bg-white p-4 ring-1 ring-zinc-200"
      aria-label="Invite a member"
    >
      <div className="flex flex-wrap items-start gap-3">
        <TextField
          className="min-w-64 flex-1"
          label="Email"
          type="email"
          name="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
          error={error && error.field !== "role" ? error.message : null}
        />
        <SelectField
          label="Role"
          name="role"
          value={role}
          onChange={(e) => setRole(e.target.value as OrgRole)}
          className="w-36"
          error={error?.field === "role" ? error.message : null}
        >
          {assignableRoles(org.role).map((r) => (
            <option key={r} value={r}>
              {ROLE_LABEL[r]}
            </option>
          ))}
        </SelectField>
        <Button type="submit" pending={invite.isPending} className="mt-6">
          Invite
        </Button>
      </div>
      {done && (
        <div className="mt-3 space-y-2">
          <Alert tone="success">
            {done.email} is invited. They join when they open their invite link, which{" "}
            {done.mailed ? "was emailed to them" : "could not be emailed: send it yourself"}. It works once, for 7 days;
            inviting the address again makes a new link.
          </Alert>
          <div className="flex items-center gap-2">
            <code
              data-testid="invite-link"
              className="block min-w-0 flex-1 truncate rounded bg-zinc-100 px-2 py-1.5 text-xs"
            >
              {done.link}
            </code>
            <Button
              type="button"
              variant="secondary"
              onClick={() => {
                void navigator.clipboard.writeText(done.link).then(() => setCopied(true));
              }}
            >
              {copied ? "Copied" : "Copy link"}
            </Button>
          </div>
        </div>
      )}
    </form>
  );
}
