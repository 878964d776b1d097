import "server-only";
import { z } from "zod";
import { tokenNameSchema } from "@/server/schemas";
import { createApiToken, listApiTokens, revokeApiToken } from "@/server/services/api-tokens";
import { containerProcedure, createTRPCRouter } from "../init";

export const apiTokensRouter = createTRPCRouter({
  list: containerProcedure("edit").query(({ ctx }) => listApiTokens(ctx.db, ctx.container.containerId)),
  create: containerProcedure("edit")
    .input(z.object({ name: tokenNameSchema }))
    .mutation(({ ctx, input }) =>
      createApiToken(ctx.db, { containerId: ctx.container.containerId, name: input.name, createdBy: ctx.user.id }),
    ),
  revoke: containerProcedure("edit")
    .input(z.object({ tokenId: z.uuid() }))
    .mutation(({ ctx, input }) =>
      revokeApiToken(ctx.db, { containerId: ctx.container.containerId, tokenId: input.tokenId }),
    ),
});
