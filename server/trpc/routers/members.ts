import "server-only";
import { z } from "zod";
import { env } from "@/server/env";
import { emailSchema, roleSchema, userIdSchema } from "@/server/schemas";
import { changeRole, inviteMember, listMembers, removeMember, revokeInvitation } from "@/server/services/members";
import { createTRPCRouter, orgProcedure } from "../init";

export const membersRouter = createTRPCRouter({
  list: orgProcedure("org.view").query(({ ctx }) => listMembers(ctx.db, ctx.org.id)),
  invite: orgProcedure("members.invite")
    .input(z.object({ email: emailSchema, role: roleSchema }))
    .mutation(({ ctx, input }) =>
      inviteMember(
        ctx.db,
        { mailer: ctx.mailer },
        {
          orgId: ctx.org.id,
          actorRole: ctx.org.role,
          invitedBy: ctx.user.id,
          email: input.email,
          role: input.role,
          appUrl: env().WIRE_PUBLIC_URL,
        },
      ),
    ),
  revokeInvitation: orgProcedure("members.invite")
    .input(z.object({ invitationId: z.uuid() }))
    .mutation(({ ctx, input }) => revokeInvitation(ctx.db, { orgId: ctx.org.id, invitationId: input.invitationId })),
  changeRole: orgProcedure("members.changeRole")
    .input(z.object({ userId: userIdSchema, role: roleSchema }))
    .mutation(({ ctx, input }) => changeRole(ctx.db, { orgId: ctx.org.id, userId: input.userId, role: input.role })),
  remove: orgProcedure("members.remove")
    .input(z.object({ userId: userIdSchema }))
    .mutation(({ ctx, input }) => removeMember(ctx.db, { orgId: ctx.org.id, userId: input.userId })),
});
