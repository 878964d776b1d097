import { defaultShouldDehydrateQuery, QueryClient, type InvalidateQueryFilters } from "@tanstack/react-query";
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

/**
 * Refetches what a change of ours made stale. A query still on its first load is cancelled first: invalidating
 * alone joins that load (TanStack Query fetches over one in flight only once the query has data), and its
 * answer may predate the change, which would then not show until the next refetch.
 */
export async function refetchAfterChange(queryClient: QueryClient, filters: InvalidateQueryFilters) {
  await queryClient.cancelQueries(filters);
  await queryClient.invalidateQueries(filters);
}
