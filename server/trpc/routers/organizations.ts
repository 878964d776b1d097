import "server-only";
import { z } from "zod";
import { orgNameSchema, slugSchema } from "@/server/schemas";
import { createOrganization, getOrganizationBySlug, listOrganizationsOf } from "@/server/services/organizations";
import { authedProcedure, createTRPCRouter } from "../init";

export const organizationsRouter = createTRPCRouter({
  list: authedProcedure.query(({ ctx }) => listOrganizationsOf(ctx.db, ctx.user.id)),
  bySlug: authedProcedure
    .input(z.object({ slug: slugSchema }))
    .query(({ ctx, input }) => getOrganizationBySlug(ctx.db, { slug: input.slug, userId: ctx.user.id })),
  create: authedProcedure
    .input(z.object({ name: orgNameSchema }))
    .mutation(({ ctx, input }) => createOrganization(ctx.db, { userId: ctx.user.id, name: input.name })),
});
