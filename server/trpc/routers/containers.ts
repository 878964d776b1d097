import "server-only";
import { z } from "zod";
import { containerDescriptionSchema, containerNameSchema, grantLevelSchema, userIdSchema } from "@/server/schemas";
import {
  createContainer,
  deleteContainer,
  getContainer,
  listContainers,
  updateContainer,
} from "@/server/services/containers";
import { listContainerAccess, setContainerAccess } from "@/server/services/containers/access";
import { containerProcedure, createTRPCRouter, orgProcedure } from "../init";

export const containersRouter = createTRPCRouter({
  list: orgProcedure("org.view").query(({ ctx }) =>
    listContainers(ctx.db, { orgId: ctx.org.id, userId: ctx.user.id, role: ctx.org.role }),
  ),
  create: orgProcedure("containers.create")
    .input(z.object({ name: containerNameSchema, description: containerDescriptionSchema }))
    .mutation(({ ctx, input }) =>
      createContainer(ctx.db, {
        orgId: ctx.org.id,
        userId: ctx.user.id,
        role: ctx.org.role,
        name: input.name,
        description: input.description,
      }),
    ),
  get: containerProcedure("view").query(async ({ ctx }) => ({
    ...(await getContainer(ctx.db, ctx.container.containerId)),
    level: ctx.container.level,
  })),
  update: containerProcedure("edit")
    .input(z.object({ name: containerNameSchema, description: containerDescriptionSchema }))
    .mutation(({ ctx, input }) =>
      updateContainer(ctx.db, {
        containerId: ctx.container.containerId,
        name: input.name,
        description: input.description,
      }),
    ),
  delete: containerProcedure("manage").mutation(({ ctx }) =>
    deleteContainer(ctx.db, ctx.events, { containerId: ctx.container.containerId }),
  ),
  access: createTRPCRouter({
    list: containerProcedure("manage").query(({ ctx }) =>
      listContainerAccess(ctx.db, { orgId: ctx.container.orgId, containerId: ctx.container.containerId }),
    ),
    set: containerProcedure("manage")
      .input(z.object({ userId: userIdSchema, level: grantLevelSchema.nullable() }))
      .mutation(({ ctx, input }) =>
        setContainerAccess(ctx.db, { ...input, orgId: ctx.container.orgId, containerId: ctx.container.containerId }),
      ),
  }),
});
