/**
 * The one initTRPC. Routers import only the named base procedures below, never the raw builder.
 * Each base procedure records its access rule in `meta`, which the permission-matrix test reads.
 */
import "server-only";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import { AppError, errorForLog } from "@/server/errors";
import type { ContainerLevel, OrgPermission } from "@/server/permissions";
import { requireContainerLevel, requireOrgPermission } from "@/server/services/authorization";
import type { Context } from "./context";

export type AccessRule =
  | { kind: "public" }
  | { kind: "authed" }
  | { kind: "org"; permission: OrgPermission }
  | { kind: "container"; level: ContainerLevel };

export interface Meta {
  access: AccessRule;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error, ctx }) {
      const cause = error.cause;
      if (error.code === "INTERNAL_SERVER_ERROR") {
        // The detail (which may quote SQL and its parameters) stays in the logs under this request id.
        const requestId = ctx?.requestId ?? null;
        return {
          ...shape,
          message: requestId
            ? `Something went wrong on our side (request ${requestId}).`
            : "Something went wrong on our side.",
          data: {
            code: shape.data.code,
            httpStatus: shape.data.httpStatus,
            path: shape.data.path,
            requestId,
            field: null,
            fieldErrors: null,
          },
        };
      }
      return {
        ...shape,
        data: {
          ...shape.data,
          field: cause instanceof AppError ? (cause.field ?? null) : null,
          fieldErrors: cause instanceof ZodError ? z.flattenError(cause).fieldErrors : null,
        },
      };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Maps service errors to tRPC codes and logs every call with its outcome. */
const observed = t.middleware(async ({ ctx, path, type, next }) => {
  const started = Date.now();
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AppError) {
      result.error = new TRPCError({ code: cause.code, message: cause.message, cause });
    }
    const level = result.error.code === "INTERNAL_SERVER_ERROR" ? "error" : "info";
    ctx.log[level](
      {
        path,
        type,
        ms: Date.now() - started,
        code: result.error.code,
        err: level === "error" ? errorForLog(result.error.cause ?? result.error) : undefined,
      },
      "trpc call failed",
    );
  } else {
    ctx.log.debug({ path, type, ms: Date.now() - started }, "trpc call");
  }
  return result;
});

export const publicProcedure = t.procedure.use(observed).meta({ access: { kind: "public" } });

export const authedProcedure = publicProcedure.meta({ access: { kind: "authed" } }).use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue." });
  return next({ ctx: { user: ctx.user } });
});

/** Member of the org named by `input.orgId` whose role has `permission`. */
export function orgProcedure(permission: OrgPermission) {
  return authedProcedure
    .meta({ access: { kind: "org", permission } })
    .input(z.object({ orgId: z.uuid() }))
    .use(async ({ ctx, input, next }) => {
      const role = await requireOrgPermission(ctx.db, { orgId: input.orgId, userId: ctx.user.id, permission });
      return next({ ctx: { org: { id: input.orgId, role } } });
    });
}

/** Caller has at least `level` on the container named by `input.containerId`. */
export function containerProcedure(level: ContainerLevel) {
  return authedProcedure
    .meta({ access: { kind: "container", level } })
    .input(z.object({ containerId: z.uuid() }))
    .use(async ({ ctx, input, next }) => {
      const scope = await requireContainerLevel(ctx.db, {
        containerId: input.containerId,
        userId: ctx.user.id,
        need: level,
      });
      return next({ ctx: { container: scope } });
    });
}
