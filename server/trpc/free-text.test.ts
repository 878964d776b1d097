/**
 * The one input rule for free text, through the real tRPC fetch adapter and error formatter: a NUL (or, in
 * names, a bidi override) in any free-text input is a 400 naming the field, and an internal error goes out as a
 * generic message with a request id while the log keeps the query without its parameters.
 */
import { Writable } from "node:stream";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { AnyTRPCRouter } from "@trpc/server";
import { sql } from "drizzle-orm";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { contextFor, seedWorld, testS3, type World } from "@/server/test/factories";
import type { Context } from "./context";
import { createTRPCRouter, publicProcedure } from "./init";
import { appRouter } from "./router";

async function call(router: AnyTRPCRouter, ctx: Context, path: string, type: "query" | "mutation", input: unknown) {
  const json = JSON.stringify({ json: input });
  const url = `http://localhost/api/trpc/${path}${type === "query" ? `?input=${encodeURIComponent(json)}` : ""}`;
  const req = new Request(
    url,
    type === "query" ? {} : { method: "POST", body: json, headers: { "content-type": "application/json" } },
  );
  const res = await fetchRequestHandler({ endpoint: "/api/trpc", req, router, createContext: () => ctx });
  const text = await res.text();
  return {
    status: res.status,
    text,
    error: (JSON.parse(text) as { error?: { json: { message: string; data: Record<string, unknown> } } }).error?.json,
  };
}

const NUL = "bad\u0000value";
// Words only a SQL statement or drizzle's failed-query message would put in an answer.
const SQL_WORDS = /\b(select|insert into|update "|delete from|params:|failed query)\b/i;

type Case = { path: string; type: "query" | "mutation"; field: string; input: (w: World) => Record<string, unknown> };

const s3 = () => testS3();
const connectorInput = (w: World) => ({
  orgId: w.org.id,
  label: "Bucket",
  provider: "custom",
  endpoint: s3().endpoint,
  region: "us-east-1",
  accessKeyId: "S3RVER",
  secretAccessKey: "S3RVER",
  sessionToken: "",
  testBucket: s3().bucket,
  testPrefix: "",
});

const CASES: Case[] = [
  { path: "organizations.create", type: "mutation", field: "name", input: () => ({ name: "Org" }) },
  { path: "organizations.bySlug", type: "query", field: "slug", input: () => ({ slug: "org" }) },
  {
    path: "containers.create",
    type: "mutation",
    field: "name",
    input: (w) => ({ orgId: w.org.id, name: "Box", description: "" }),
  },
  {
    path: "containers.create",
    type: "mutation",
    field: "description",
    input: (w) => ({ orgId: w.org.id, name: "Box", description: "" }),
  },
  {
    path: "containers.update",
    type: "mutation",
    field: "name",
    input: (w) => ({ containerId: w.container.id, name: "Box", description: "" }),
  },
  {
    path: "containers.update",
    type: "mutation",
    field: "description",
    input: (w) => ({ containerId: w.container.id, name: "Box", description: "" }),
  },
  {
    path: "containers.access.set",
    type: "mutation",
    field: "userId",
    input: (w) => ({ containerId: w.container.id, userId: "x", level: "view" }),
  },
  {
    path: "members.invite",
    type: "mutation",
    field: "email",
    input: (w) => ({ orgId: w.org.id, email: "a@example.test", role: "member" }),
  },
  {
    path: "members.changeRole",
    type: "mutation",
    field: "userId",
    input: (w) => ({ orgId: w.org.id, userId: "x", role: "admin" }),
  },
  { path: "members.remove", type: "mutation", field: "userId", input: (w) => ({ orgId: w.org.id, userId: "x" }) },
  {
    path: "files.list",
    type: "query",
    field: "search",
    input: (w) => ({ containerId: w.container.id, search: "x", page: 1, pageSize: 10 }),
  },
  {
    path: "apiTokens.create",
    type: "mutation",
    field: "name",
    input: (w) => ({ containerId: w.container.id, name: "Agent" }),
  },
  ...["label", "endpoint", "region", "accessKeyId", "secretAccessKey", "sessionToken", "testBucket", "testPrefix"].map(
    (field): Case => ({ path: "connectors.create", type: "mutation", field, input: connectorInput }),
  ),
  ...["label", "region", "testBucket", "testPrefix"].map((field): Case => ({
    path: "connectors.update",
    type: "mutation",
    field,
    input: (w) => ({
      orgId: w.org.id,
      connectorId: w.connector.id,
      label: "L",
      region: "us-east-1",
      testBucket: w.connector.testBucket,
      testPrefix: "",
      credentials: null,
    }),
  })),
  {
    path: "sources.attach",
    type: "mutation",
    field: "bucket",
    input: (w) => ({ containerId: w.container.id, connectorId: w.connector.id, bucket: "b", prefix: "" }),
  },
  {
    path: "sources.attach",
    type: "mutation",
    field: "prefix",
    input: (w) => ({ containerId: w.container.id, connectorId: w.connector.id, bucket: "b", prefix: "" }),
  },
];

let world: World;
beforeAll(async () => {
  world = await seedWorld();
});

describe("NUL in free-text input", () => {
  it.each(CASES.map((c) => [`${c.path} ${c.field}`, c] as const))(
    "%s → 400 with the field, no SQL",
    async (_label, c) => {
      const input = { ...c.input(world), [c.field]: NUL };
      const { status, text, error } = await call(appRouter, contextFor(world.users.owner), c.path, c.type, input);
      expect(status, text).toBe(400);
      expect(error?.data.code).toBe("BAD_REQUEST");
      expect(Object.keys(error?.data.fieldErrors ?? {})).toContain(c.field);
      expect(text).not.toMatch(SQL_WORDS);
    },
  );
});

describe("bidi controls", () => {
  it.each([
    ["containers.create", "name", (w: World) => ({ orgId: w.org.id, name: "invoice\u202efdp.exe", description: "" })],
    ["organizations.create", "name", () => ({ name: "Acme\u2066 Ltd" })],
    ["apiTokens.create", "name", (w: World) => ({ containerId: w.container.id, name: "agent\u202d" })],
  ] as const)("are refused in names: %s %s", async (path, field, input) => {
    const { status, error } = await call(appRouter, contextFor(world.users.owner), path, "mutation", input(world));
    expect(status).toBe(400);
    expect(Object.keys(error?.data.fieldErrors ?? {})).toContain(field);
  });

  it("line breaks stay allowed in a description", async () => {
    const { status } = await call(appRouter, contextFor(world.users.owner), "containers.create", "mutation", {
      orgId: world.org.id,
      name: "Multi-line",
      description: "line one\nline two",
    });
    expect(status).toBe(200);
  });
});

describe("internal errors", () => {
  it("go out as a generic message with the request id; the log has the query but not its parameters", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const ctx = { ...contextFor(world.users.owner), log: pino({ level: "info" }, sink) };
    // A real failed query: PostgreSQL refuses NUL in text, and drizzle quotes the parameters in its message.
    const router = createTRPCRouter({
      boom: publicProcedure.mutation(({ ctx }) =>
        ctx.db.execute(sql`select ${"sealed-envelope-secret\u0000"}::text as v`),
      ),
    });
    const { status, text, error } = await call(router, ctx, "boom", "mutation", {});
    expect(status).toBe(500);
    expect(error?.message).toBe(`Something went wrong on our side (request ${ctx.requestId}).`);
    expect(error?.data.requestId).toBe(ctx.requestId);
    expect(text).not.toContain("sealed-envelope-secret");
    expect(text).not.toMatch(SQL_WORDS);
    expect(text).not.toContain("stack");

    const logged = lines.join("");
    expect(logged).toContain("trpc call failed");
    expect(logged).toContain("select $1::text");
    expect(logged).not.toContain("sealed-envelope-secret");
  });
});

describe("sign-up names", () => {
  it("refuse NUL and bidi controls before any row is written", async () => {
    const { getAuth } = await import("@/server/auth");
    for (const name of ["Eve\u0000", "Eve\u202e"]) {
      const email = `${crypto.randomUUID()}@example.test`;
      await expect(
        getAuth().api.signUpEmail({ body: { email, password: "correct horse battery", name } }),
      ).rejects.toMatchObject({ statusCode: 400 });
    }
  });
});
