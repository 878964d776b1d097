"use client";
import { QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, loggerLink } from "@trpc/client";
import type { inferRouterOutputs } from "@trpc/server";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/router";
import { makeQueryClient } from "./query-client";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/** What each procedure answers, from the router itself: client types are never copies of it. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(() => makeQueryClient({ server: false }));
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        loggerLink({
          enabled: (op) =>
            process.env.NODE_ENV === "development" && op.direction === "down" && op.result instanceof Error,
        }),
        httpBatchLink({ url: "/api/trpc", transformer: superjson }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** The message and field of a failed tRPC call, for forms. */
export function describeError(error: unknown): {
  message: string;
  field: string | null;
  fieldErrors: Record<string, string[] | undefined>;
} {
  const e = error as {
    message?: string;
    data?: { field?: string | null; fieldErrors?: Record<string, string[]> | null; code?: string };
  };
  const fieldErrors = e.data?.fieldErrors ?? {};
  const firstFieldError = Object.values(fieldErrors).flat()[0];
  return {
    message:
      e.data?.code === "BAD_REQUEST" && firstFieldError ? firstFieldError : (e.message ?? "Something went wrong."),
    field: e.data?.field ?? null,
    fieldErrors,
  };
}
