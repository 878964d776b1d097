"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Box, Plus } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type SubmitEvent } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { describeError, useTRPC } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { TextField } from "@/components/ui/field";
import { Badge, EmptyState, Loading, PageHeader } from "@/components/ui/states";
import { formText } from "@/components/ui/form-data";
import { refetchAfterChange } from "@/components/providers/query-client";

const LEVEL_LABEL = { manage: "Manage", edit: "Can edit", view: "Can view" } as const;

export function ContainersPage() {
  const org = useOrg();
  const trpc = useTRPC();
  const [creating, setCreating] = useState(false);
  const list = useQuery(trpc.containers.list.queryOptions({ orgId: org.id }));

  return (
    <>
      <PageHeader
        title="Containers"
        description="Collections of files your AI agents read."
        actions={
          <Button onClick={() => setCreating(true)}>
            <Plus className="size-4" aria-hidden /> New container
          </Button>
        }
      />
      {list.isPending && <Loading />}
      {list.error && <Alert>{describeError(list.error).message}</Alert>}
      {list.data?.length === 0 && (
        <EmptyState icon={<Box className="size-8" />} title="No containers yet">
          {org.role === "member"
            ? "Create a container, or ask an Owner or Admin to give you access to one."
            : "Create a container to start collecting files for your agents."}
        </EmptyState>
      )}
      {list.data && list.data.length > 0 && (
        <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-3">
          {list.data.map((c) => (
            <li key={c.id}>
              <Link
                href={`/o/${org.slug}/containers/${c.id}`}
                className="block h-full rounded-lg bg-white p-4 ring-1 ring-zinc-200 transition hover:ring-brand-500"
              >
                <div className="flex items-start justify-between gap-2">
                  <h2 className="font-medium text-zinc-900">{c.name}</h2>
                  {c.level && <Badge tone={c.level === "view" ? "zinc" : "blue"}>{LEVEL_LABEL[c.level]}</Badge>}
                </div>
                {c.description && <p className="mt-1 line-clamp-2 text-sm text-zinc-500">{c.description}</p>}
                <p className="mt-3 text-xs text-zinc-500">
                  {c.fileCount} {c.fileCount === 1 ? "file" : "files"}
                </p>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <CreateContainerDialog open={creating} onOpenChange={setCreating} />
    </>
  );
}

function CreateContainerDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const org = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const create = useMutation(
    trpc.containers.create.mutationOptions({
      onSuccess: async (container) => {
        await refetchAfterChange(queryClient, { queryKey: trpc.containers.list.queryKey() });
        router.push(`/o/${org.slug}/containers/${container.id}`);
      },
    }),
  );
  const error = create.error ? describeError(create.error) : null;

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ orgId: org.id, name: formText(form, "name"), description: formText(form, "description") });
  }

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="New container"
      description="Give it a name your team will recognise."
    >
      <form onSubmit={onSubmit} className="space-y-4">
        <TextField
          label="Name"
          name="name"
          required
          maxLength={120}
          autoFocus
          error={error?.fieldErrors.name?.[0] ?? (error && !error.fieldErrors.description ? error.message : null)}
        />
        <TextField
          label="Description (optional)"
          name="description"
          maxLength={500}
          error={error?.fieldErrors.description?.[0]}
        />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" pending={create.isPending}>
            Create container
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
