/**
 * Real Inngest mode: with INNGEST_* variables set, the app's client and /api/inngest handler speak to
 * that Inngest: registration is posted with the hashed signing key, and only signed requests run functions.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { env } from "@/server/env";
import { hashedSigningKey, signBody } from "./engine/signing";
import { listen } from "./engine/server";

const signingKey = `signkey-prod-${randomBytes(32).toString("hex")}`;
const registrations: { authorization?: string; body: { url: string; functions: { id: string }[] } }[] = [];
let fakeInngest: http.Server;
let handlers: Record<"GET" | "POST" | "PUT", (req: Request) => Promise<Response>>;

beforeAll(async () => {
  fakeInngest = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url === "/fn/register")
        registrations.push({
          authorization: req.headers.authorization,
          body: JSON.parse(body) as { url: string; functions: { id: string }[] },
        });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, modified: true }));
    });
  });
  const port = await listen(fakeInngest, 0);
  Object.assign(process.env, {
    INNGEST_BASE_URL: `http://127.0.0.1:${port}`,
    INNGEST_SIGNING_KEY: signingKey,
    INNGEST_EVENT_KEY: "cloud-event-key",
  });
  // Imported only now, so the client reads the variables above, as it would in a deployment.
  const { inngest } = await import("./client");
  const { inngestHandlers } = await import("./serve");
  const { engineMode } = await import("./engine/config");
  expect(engineMode()).toBe("inngest");
  const hello = inngest.createFunction(
    { id: "hello", triggers: [{ event: "test/hello" }] },
    ({ event }) => `hello ${event.data.name}`,
  );
  handlers = inngestHandlers([hello]) as never;
});

afterAll(() => {
  fakeInngest.close();
  for (const key of ["INNGEST_BASE_URL", "INNGEST_SIGNING_KEY", "INNGEST_EVENT_KEY"]) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- process.env is a map by name; an unset variable is a deleted key
    delete process.env[key];
  }
});

const endpoint = "http://wire.test/api/inngest";

it("registers with the hashed signing key, at the configured URL whatever the request's Host says", async () => {
  const forged = await handlers.PUT(
    new Request("http://attacker.example/api/inngest", { method: "PUT", headers: { host: "attacker.example" } }),
  );
  expect(forged.status).toBe(200);
  expect(registrations).toHaveLength(1);
  expect(registrations[0]!.authorization).toBe(`Bearer ${hashedSigningKey(signingKey)}`);
  expect(registrations[0]!.body.url).toBe(new URL("/api/inngest", env().WIRE_PUBLIC_URL).toString());
  expect(registrations[0]!.body.functions.map((f) => f.id)).toEqual(["wire-hello"]);
});

function execution(name: string) {
  return {
    event: { name: "test/hello", data: { name }, id: "e1", ts: Date.now() },
    events: [{ name: "test/hello", data: { name }, id: "e1", ts: Date.now() }],
    steps: {},
    ctx: {
      run_id: "r1",
      attempt: 0,
      max_attempts: 1,
      disable_immediate_execution: false,
      use_api: false,
      stack: { stack: [], current: 0 },
    },
    version: -1,
  };
}

function post(body: unknown, signature?: string) {
  return handlers.POST(
    new Request(`${endpoint}?fnId=wire-hello&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature ? { "x-inngest-signature": signature } : {}) },
      body: JSON.stringify(body),
    }),
  );
}

it("runs a function for a correctly signed request", async () => {
  const body = execution("Ada");
  const response = await post(body, signBody(body, signingKey));
  expect(response.status).toBe(200);
  expect(await response.json()).toBe("hello Ada");
});

it("refuses unsigned, wrongly signed and expired requests", async () => {
  const body = execution("Mallory");
  expect((await post(body)).status).toBe(401);
  expect((await post(body, signBody(body, `signkey-prod-${randomBytes(32).toString("hex")}`))).status).toBe(401);
  expect((await post(body, signBody(execution("Eve"), signingKey))).status).toBe(401);
  expect((await post(body, signBody(body, signingKey, Date.now() - 10 * 60 * 1000))).status).toBe(401);
});
