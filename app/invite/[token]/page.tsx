import type { Metadata } from "next";
import Link from "next/link";
import { TRPCError } from "@trpc/server";
import { AcceptInvitation } from "@/components/invitations/accept-invitation";
import { currentPageUser } from "@/server/page-session";
import { INVALID_INVITATION_LINK } from "@/server/services/members";
import { caller } from "@/server/trpc/server";

export const metadata: Metadata = { title: "Invitation" };

const ROLE_LABEL = { owner: "Owner", admin: "Admin", member: "Member" } as const;

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const here = `/invite/${token}`;
  const [user, invitation] = await Promise.all([
    currentPageUser(),
    caller.invitations.preview({ token }).catch((error: unknown) => {
      // The procedure's answer for a link that does not work; a token too long to be one fails its input rule.
      if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") {
        return { problem: error.code === "BAD_REQUEST" ? INVALID_INVITATION_LINK : error.message };
      }
      throw error;
    }),
  ]);

  let body;
  if ("problem" in invitation) {
    body = <p className="text-sm text-zinc-600">{invitation.problem}</p>;
  } else if (invitation.expired) {
    body = (
      <p className="text-sm text-zinc-600">This invitation link has expired. Ask whoever invited you for a new one.</p>
    );
  } else {
    body = (
      <>
        <p className="text-sm text-zinc-600">
          You are invited to <strong>{invitation.orgName}</strong> as {ROLE_LABEL[invitation.role]}. The invitation is
          for <strong>{invitation.email}</strong>.
        </p>
        {user ? (
          <AcceptInvitation token={token} signedInAs={user.email} invitedEmail={invitation.email} />
        ) : (
          <p className="mt-6 text-sm text-zinc-600">
            <Link
              href={`/sign-up?next=${encodeURIComponent(here)}`}
              className="font-medium text-brand-600 hover:underline"
            >
              Create an account
            </Link>{" "}
            or{" "}
            <Link
              href={`/sign-in?next=${encodeURIComponent(here)}`}
              className="font-medium text-brand-600 hover:underline"
            >
              sign in
            </Link>{" "}
            with {invitation.email} to accept.
          </p>
        )}
      </>
    );
  }

  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-8 px-4">
      <div className="text-2xl font-bold tracking-tight text-brand-700">Wire</div>
      <div className="w-full max-w-md rounded-xl bg-white p-8 shadow-sm ring-1 ring-zinc-200">
        <h1 className="mb-3 text-xl font-semibold">Invitation</h1>
        {body}
      </div>
    </main>
  );
}
