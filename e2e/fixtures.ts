/**
 * Test fixtures: people are signed up and signed in through the auth API and data is seeded through
 * the app's own tRPC API, so only the spec that tests a screen clicks through it.
 */
import { randomUUID } from "node:crypto";
import { test as base, expect, request, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { createTRPCClient, httpLink, type TRPCClient } from "@trpc/client";
import superjson from "superjson";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/trpc/router";
import { E2E_S3, e2eS3Endpoint } from "./s3";

export const PASSWORD = "correct-horse-battery";

export interface Person {
  email: string;
  name: string;
  api: APIRequestContext;
  trpc: Trpc;
  /** A page in a browser context signed in as this person. */
  page(): Promise<Page>;
}

export type Trpc = TRPCClient<AppRouter>;

/**
 * The app's tRPC API as its pages call it (superjson, typed by the router), signed in with the cookies `api`
 * holds: read at each call, so a refreshed session cookie is the one sent.
 */
export function trpcFor(api: APIRequestContext, baseURL: string): Trpc {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: new URL("/api/trpc", baseURL).toString(),
        transformer: superjson,
        headers: async () => ({
          cookie: (await api.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join("; "),
        }),
      }),
    ],
  });
}

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.test`;
}

async function signUp(
  browser: Browser,
  baseURL: string,
  label: string,
  cleanup: (() => Promise<void>)[],
): Promise<Person> {
  const email = uniqueEmail(label);
  const name = label.charAt(0).toUpperCase() + label.slice(1);
  const api = await request.newContext({ baseURL });
  cleanup.push(() => api.dispose());
  const response = await api.post("/api/auth/sign-up/email", { data: { email, name, password: PASSWORD } });
  expect(response.ok(), await response.text()).toBe(true);
  return {
    email,
    name,
    api,
    trpc: trpcFor(api, baseURL),
    page: async () => {
      const context = await browser.newContext({ storageState: await api.storageState() });
      cleanup.push(() => context.close());
      return context.newPage();
    },
  };
}

export type Org = inferRouterOutputs<AppRouter>["organizations"]["create"];

export const test = base.extend<{ createPerson: (label: string) => Promise<Person> }>({
  // Playwright's fixture callback, not React's use(): named so react-hooks does not take it for one.
  createPerson: async ({ browser, baseURL }, provide) => {
    const cleanup: (() => Promise<void>)[] = [];
    await provide((label) => signUp(browser, baseURL!, label, cleanup));
    for (const step of cleanup.reverse()) await step();
  },
});

/** An org owned by `owner` with the given people added in the given roles. */
export async function seedOrg(owner: Person, people: [Person, "owner" | "admin" | "member"][] = []): Promise<Org> {
  const org = await owner.trpc.organizations.create.mutate({ name: `Org ${randomUUID().slice(0, 6)}` });
  for (const [person, role] of people) {
    // A membership comes only through the invite link, which the person opens.
    const { link } = await owner.trpc.members.invite.mutate({ orgId: org.id, email: person.email, role });
    await person.trpc.invitations.accept.mutate({
      token: decodeURIComponent(new URL(link).pathname.split("/").pop()!),
    });
  }
  return org;
}

/** A connector to the e2e S3 server (s3rver), added by `owner` through the API. */
export async function seedConnector(owner: Person, org: Org, label = "Team bucket"): Promise<{ id: string }> {
  return owner.trpc.connectors.create.mutate({
    orgId: org.id,
    label,
    provider: "minio",
    endpoint: e2eS3Endpoint,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    testBucket: E2E_S3.bucket,
  });
}

export async function seedContainer(owner: Person, org: Org, name = "Research"): Promise<{ id: string; url: string }> {
  const container = await owner.trpc.containers.create.mutate({ orgId: org.id, name, description: "" });
  return { id: container.id, url: `/o/${org.slug}/containers/${container.id}` };
}

export async function grant(owner: Person, containerId: string, person: Person, level: "view" | "edit") {
  const people = await owner.trpc.containers.access.list.query({ containerId });
  const userId = people.find((p) => p.email === person.email)!.userId;
  await owner.trpc.containers.access.set.mutate({ containerId, userId, level });
}

export async function upload(
  person: Person,
  containerId: string,
  name: string,
  content: string,
  mimeType = "text/plain",
) {
  const response = await person.api.post(`/api/containers/${containerId}/files`, {
    multipart: { file: { name, mimeType, buffer: Buffer.from(content) } },
  });
  expect(response.status(), await response.text()).toBe(201);
}

export { expect };
