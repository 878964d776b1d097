"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type SubmitEvent } from "react";
import { describeError, useTRPC } from "@/components/providers/trpc";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";

export function CreateOrgForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.organizations.create.mutationOptions({
      onSuccess: (org) => router.push(`/o/${org.slug}/containers`),
    }),
  );
  const error = create.error ? describeError(create.error).message : null;

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    create.mutate({ name });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4">
      <TextField
        label="Organization name"
        name="name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        minLength={2}
        maxLength={80}
        error={error}
        placeholder="Acme Inc."
        autoFocus
      />
      <Button type="submit" pending={create.isPending} className="w-full">
        Create organization
      </Button>
    </form>
  );
}
