import "server-only";
import { z } from "zod";
import { acceptInvitation, previewInvitation } from "@/server/services/members";
import { authedProcedure, createTRPCRouter, publicProcedure } from "../init";

const tokenInput = z.object({ token: z.string().min(1).max(200) });

/** The invite link's side: any signed-in person may try a link; the service checks it is theirs. */
export const invitationsRouter = createTRPCRouter({
  /** What the invite page shows before sign-in: the link itself is the credential, as for the page. */
  preview: publicProcedure.input(tokenInput).query(({ ctx, input }) => previewInvitation(ctx.db, input.token)),
  accept: authedProcedure
    .input(tokenInput)
    .mutation(({ ctx, input }) => acceptInvitation(ctx.db, { token: input.token, user: ctx.user })),
});
