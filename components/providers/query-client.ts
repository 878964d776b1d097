import { defaultShouldDehydrateQuery, QueryClient } from "@tanstack/react-query";
import superjson from "superjson";

/**
 * The app's query client: one per browser tab (TRPCReactProvider) and one per request on the server
 * (server/trpc/server.tsx), where pages prefetch what their client components then read. Both sides carry
 * data through superjson, as the tRPC link does, so dates survive hydration.
 */
export function makeQueryClient({ server }: { server: boolean }) {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        // On the server a failed read fails the page at once (its 404); in the browser, permission and
        // not-found answers will not change by asking again.
        retry: server
          ? false
          : (count, error) => {
              const code = (error as { data?: { code?: string } }).data?.code;
              return !["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST"].includes(code ?? "") && count < 2;
            },
      },
      dehydrate: {
        serializeData: superjson.serialize,
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}
