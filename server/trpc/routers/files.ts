import "server-only";
import { z } from "zod";
import { fileSearchSchema, FILES_PAGE_SIZES, fileSortSchema } from "@/server/schemas";
import { deleteFile, listFiles, retryProcessing } from "@/server/services/files";
import { containerProcedure, createTRPCRouter } from "../init";

export const filesRouter = createTRPCRouter({
  list: containerProcedure("view")
    .input(
      z.object({
        search: fileSearchSchema.optional(),
        page: z.number().int().min(1).default(1),
        pageSize: z.union(FILES_PAGE_SIZES.map((n) => z.literal(n))).default(25),
        sort: fileSortSchema,
      }),
    )
    .query(({ ctx, input }) => listFiles(ctx.db, { ...input, containerId: ctx.container.containerId })),
  retry: containerProcedure("edit")
    .input(z.object({ fileId: z.uuid() }))
    .mutation(({ ctx, input }) =>
      retryProcessing(ctx.db, ctx.events, { containerId: ctx.container.containerId, fileId: input.fileId }),
    ),
  delete: containerProcedure("edit")
    .input(z.object({ fileId: z.uuid() }))
    .mutation(({ ctx, input }) =>
      deleteFile(ctx.db, ctx.blobs, { containerId: ctx.container.containerId, fileId: input.fileId }),
    ),
});
