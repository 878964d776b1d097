import "server-only";
import { z } from "zod";
import {
  accessKeyIdSchema,
  bucketNameSchema,
  endpointSchema,
  prefixSchema,
  regionSchema,
  secretAccessKeySchema,
  sessionTokenSchema,
} from "@/server/s3/inputs";
import {
  createConnector,
  disconnectConnector,
  getConnector,
  listConnectors,
  listCredentialReads,
  removeConnector,
  retestConnector,
  updateConnector,
} from "@/server/services/connectors";
import { connectorLabelSchema } from "@/server/schemas";
import { PROVIDER_IDS } from "@/server/services/connectors/providers";
import { createTRPCRouter, orgProcedure } from "../init";

const connectorId = z.object({ connectorId: z.uuid() });
const credentials = z.object({
  accessKeyId: accessKeyIdSchema,
  secretAccessKey: secretAccessKeySchema,
  sessionToken: sessionTokenSchema,
});

export const connectorsRouter = createTRPCRouter({
  list: orgProcedure("connectors.view").query(({ ctx }) =>
    listConnectors(ctx.db, { orgId: ctx.org.id, viewer: { userId: ctx.user.id, role: ctx.org.role } }),
  ),
  get: orgProcedure("connectors.view")
    .input(connectorId)
    .query(({ ctx, input }) =>
      getConnector(ctx.db, {
        orgId: ctx.org.id,
        connectorId: input.connectorId,
        viewer: { userId: ctx.user.id, role: ctx.org.role },
      }),
    ),
  create: orgProcedure("connectors.manage")
    .input(
      z
        .object({
          label: connectorLabelSchema,
          provider: z.enum(PROVIDER_IDS),
          endpoint: endpointSchema,
          region: regionSchema.default("us-east-1"),
          testBucket: bucketNameSchema,
          testPrefix: prefixSchema,
        })
        .extend(credentials.shape)
        .refine((v) => v.provider === "aws" || v.endpoint, {
          error: "This provider needs its endpoint.",
          path: ["endpoint"],
        }),
    )
    .mutation(({ ctx, input }) => {
      const { accessKeyId, secretAccessKey, sessionToken, orgId, ...rest } = input;
      return createConnector(ctx.db, {
        orgId: ctx.org.id,
        userId: ctx.user.id,
        input: { ...rest, endpoint: rest.endpoint ?? null, testPrefix: rest.testPrefix ?? "" },
        credentials: { accessKeyId, secretAccessKey, sessionToken },
      });
    }),
  update: orgProcedure("connectors.manage")
    .input(
      connectorId.extend({
        label: connectorLabelSchema,
        region: regionSchema,
        testBucket: bucketNameSchema,
        testPrefix: prefixSchema,
        credentials: credentials.nullable(),
      }),
    )
    .mutation(({ ctx, input }) =>
      updateConnector(ctx.db, {
        orgId: ctx.org.id,
        connectorId: input.connectorId,
        userId: ctx.user.id,
        changes: {
          label: input.label,
          region: input.region,
          testBucket: input.testBucket,
          testPrefix: input.testPrefix ?? "",
        },
        credentials: input.credentials,
      }),
    ),
  retest: orgProcedure("connectors.manage")
    .input(connectorId)
    .mutation(({ ctx, input }) =>
      retestConnector(ctx.db, {
        orgId: ctx.org.id,
        connectorId: input.connectorId,
        actor: { type: "user", userId: ctx.user.id },
      }),
    ),
  disconnect: orgProcedure("connectors.manage")
    .input(connectorId)
    .mutation(({ ctx, input }) =>
      disconnectConnector(ctx.db, ctx.events, { orgId: ctx.org.id, connectorId: input.connectorId }),
    ),
  remove: orgProcedure("connectors.manage")
    .input(connectorId)
    .mutation(({ ctx, input }) => removeConnector(ctx.db, { orgId: ctx.org.id, connectorId: input.connectorId })),
  accessLog: orgProcedure("connectors.manage")
    .input(connectorId)
    .query(({ ctx, input }) => listCredentialReads(ctx.db, { orgId: ctx.org.id, connectorId: input.connectorId })),
});
