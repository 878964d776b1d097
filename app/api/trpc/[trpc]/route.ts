import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { env } from "@/server/env";
import { isSameOrigin } from "@/server/security-headers";
import { createContext } from "@/server/trpc/context";
import { appRouter } from "@/server/trpc/router";

function handler(req: Request) {
  // Mutations ride on the session cookie: only the app's own pages may send them.
  if (req.method !== "GET" && !isSameOrigin(req.headers, new URL(env().WIRE_PUBLIC_URL).origin)) {
    return Response.json(
      { error: { code: "FORBIDDEN", message: "This request came from another site and was refused." } },
      { status: 403 },
    );
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext({ headers: req.headers }),
  });
}

export { handler as GET, handler as POST };
