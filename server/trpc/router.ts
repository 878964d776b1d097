import "server-only";
import { createCallerFactory, createTRPCRouter, authedProcedure } from "./init";
import { apiTokensRouter } from "./routers/api-tokens";
import { connectorsRouter } from "./routers/connectors";
import { containersRouter } from "./routers/containers";
import { filesRouter } from "./routers/files";
import { invitationsRouter } from "./routers/invitations";
import { membersRouter } from "./routers/members";
import { organizationsRouter } from "./routers/organizations";
import { sourcesRouter } from "./routers/sources";

export const appRouter = createTRPCRouter({
  me: authedProcedure.query(({ ctx }) => ctx.user),
  organizations: organizationsRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  containers: containersRouter,
  connectors: connectorsRouter,
  files: filesRouter,
  sources: sourcesRouter,
  apiTokens: apiTokensRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
