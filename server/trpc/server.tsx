/**
 * tRPC for server components, as the tRPC docs set it up for the App Router: pages read through the router
 * (each procedure's own access check), never the database. `trpc` gives query options to prefetch into the
 * request's query client, which `HydrateClient` hands to the client components that take over; `caller` is
 * for plain reads no client component repeats.
 */
import "server-only";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { TRPCError } from "@trpc/server";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { cache, type ReactNode } from "react";
import { makeQueryClient } from "@/components/providers/query-client";
import { createContext } from "./context";
import { appRouter, createCaller } from "./router";

/** One context (one session lookup) per request, shared by every read of its server components. */
export const serverContext = cache(async () => createContext({ headers: await headers() }));

/** One query client per request: what the page prefetched is what it sends to the browser. */
export const getQueryClient = cache(() => makeQueryClient({ server: true }));

export const trpc = createTRPCOptionsProxy({ ctx: serverContext, router: appRouter, queryClient: getQueryClient });

export const caller = createCaller(serverContext);

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}

/**
 * For a page's reads: what the procedure does not find (or an address that is no valid input at all, such as
 * a malformed slug) is the page's 404; anything else is a real error.
 */
export function notFoundOnMissing(error: unknown): never {
  if (error instanceof TRPCError && (error.code === "NOT_FOUND" || error.code === "BAD_REQUEST")) notFound();
  throw error;
}
