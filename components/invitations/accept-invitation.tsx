"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { describeError, useTRPC } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";

export function AcceptInvitation({
  token,
  signedInAs,
  invitedEmail,
}: {
  token: string;
  signedInAs: string;
  invitedEmail: string;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({ onSuccess: ({ orgSlug }) => router.push(`/o/${orgSlug}/containers`) }),
  );
  const sameAddress = signedInAs.toLowerCase() === invitedEmail.toLowerCase();
  return (
    <div className="mt-6 space-y-3">
      {!sameAddress && (
        <Alert tone="info">
          You are signed in as {signedInAs}. Sign out and sign in with {invitedEmail} to accept.
        </Alert>
      )}
      {accept.error && <Alert>{describeError(accept.error).message}</Alert>}
      <Button onClick={() => accept.mutate({ token })} pending={accept.isPending} disabled={!sameAddress}>
        Accept invitation
      </Button>
    </div>
  );
}
