import "server-only";
import { z } from "zod";
import { acceptInvitation } from "@/server/services/members";
import { authedProcedure, createTRPCRouter } from "../init";

/** The invite link's side: any signed-in person may try a link; the service checks it is theirs. */
export const invitationsRouter = createTRPCRouter({
  accept: authedProcedure
    .input(z.object({ token: z.string().min(1).max(200) }))
    .mutation(({ ctx, input }) => acceptInvitation(ctx.db, { token: input.token, user: ctx.user })),
});
