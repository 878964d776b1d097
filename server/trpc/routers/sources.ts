import "server-only";
import { z } from "zod";
import { bucketNameSchema, prefixSchema } from "@/server/s3/inputs";
import {
  attachSource,
  detachSource,
  listFailedFiles,
  listSources,
  listSyncRuns,
  requestSync,
} from "@/server/services/sources";
import { previewPrefix } from "@/server/services/sources/preview";
import { containerProcedure, createTRPCRouter } from "../init";

const sourceId = z.object({ sourceId: z.uuid() });

export const sourcesRouter = createTRPCRouter({
  list: containerProcedure("view").query(({ ctx }) => listSources(ctx.db, ctx.container.containerId)),
  runs: containerProcedure("view")
    .input(sourceId)
    .query(({ ctx, input }) =>
      listSyncRuns(ctx.db, { containerId: ctx.container.containerId, sourceId: input.sourceId }),
    ),
  failedFiles: containerProcedure("view")
    .input(sourceId)
    .query(({ ctx, input }) =>
      listFailedFiles(ctx.db, { containerId: ctx.container.containerId, sourceId: input.sourceId }),
    ),
  attach: containerProcedure("edit")
    .input(z.object({ connectorId: z.uuid(), bucket: bucketNameSchema, prefix: prefixSchema }))
    .mutation(({ ctx, input }) =>
      attachSource(ctx.db, ctx.events, {
        orgId: ctx.container.orgId,
        containerId: ctx.container.containerId,
        userId: ctx.user.id,
        connectorId: input.connectorId,
        bucket: input.bucket,
        prefix: input.prefix ?? "",
      }),
    ),
  /** What a prefix would pull, before Add: object count (capped) and what an open-ended prefix also matches. */
  previewPrefix: containerProcedure("edit")
    .input(z.object({ connectorId: z.uuid(), bucket: bucketNameSchema, prefix: prefixSchema }))
    .query(({ ctx, input }) =>
      previewPrefix(ctx.db, {
        orgId: ctx.container.orgId,
        userId: ctx.user.id,
        connectorId: input.connectorId,
        bucket: input.bucket,
        prefix: input.prefix ?? "",
      }),
    ),
  syncNow: containerProcedure("edit")
    .input(sourceId)
    .mutation(({ ctx, input }) =>
      requestSync(ctx.db, ctx.events, { containerId: ctx.container.containerId, sourceId: input.sourceId }),
    ),
  detach: containerProcedure("edit")
    .input(sourceId)
    .mutation(({ ctx, input }) =>
      detachSource(ctx.db, ctx.events, { containerId: ctx.container.containerId, sourceId: input.sourceId }),
    ),
});
