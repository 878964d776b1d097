/**
 * Several engine processes on one database share the work without ever running a step twice, and a
 * function using flow control the engine does not implement is refused at registration.
 */
import { Inngest } from "inngest";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logger } from "@/server/logger";
import { freePort } from "@/server/test/global-setup";
import { embeddedClientOptions } from "./config";
import { inngestHandlers } from "../serve";
import { startEngine, type Engine } from ".";
import { listen } from "./server";
import { startHarness, testKeys, until, type Harness } from "./test/harness";
import { serveRoute } from "./test/serve-route";

const ran: string[] = [];
let h: Harness;
let second: Engine;

beforeAll(async () => {
  h = await startHarness(
    (client) => {
      // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
      const fns = [
        client.createFunction({ id: "work", triggers: [{ event: "test/work" }] }, async ({ event, step }) => {
          for (const part of ["one", "two", "three"]) {
            await step.run(part, async () => {
              ran.push(`${event.data.n}:${part}`);
              await new Promise((r) => setTimeout(r, 5));
            });
          }
        }),
      ];
      return fns;
    },
    { workers: 3 },
  );
  // A second engine on the same database, as a second app instance would run it.
  second = await startEngine({
    databaseUrl: h.databaseUrl,
    port: 0,
    appUrl: h.appUrl,
    signingKey: h.keys.signingKey,
    eventKey: h.keys.eventKey,
    workers: 3,
    backoffBaseMs: 20,
    requestTimeoutMs: 30_000,
    log: logger,
  });
}, 60_000);

afterAll(async () => {
  await second?.stop();
  await h?.stop();
});

it("two engines on one database run every step of 30 runs exactly once", async () => {
  await h.client.send(Array.from({ length: 30 }, (_, n) => ({ name: "test/work", data: { n } })));
  await until(
    async () => (await h.runsOf("work")).filter((r) => r.status === "completed").length === 30,
    60_000,
    "30 runs",
  );
  expect(ran).toHaveLength(90);
  expect(new Set(ran).size).toBe(90);
}, 90_000);

it("refuses at registration a function that uses unsupported flow control, naming it", async () => {
  const keys = testKeys();
  const enginePort = await freePort();
  const client = new Inngest({ id: "unsupported", ...embeddedClientOptions(keys, enginePort) });
  const fn = client.createFunction(
    { id: "throttled", throttle: { limit: 1, period: "1s" }, triggers: [{ event: "test/x" }] },
    () => null,
  );
  const app = serveRoute(inngestHandlers([fn], { client }) as never);
  const appPort = await listen(app, 0);
  const engine = await startEngine({
    databaseUrl: h.databaseUrl,
    port: enginePort,
    appUrl: `http://127.0.0.1:${appPort}/api/inngest`,
    ...keys,
    workers: 1,
    backoffBaseMs: 20,
    requestTimeoutMs: 30_000,
    log: logger,
  });
  try {
    await until(() => engine.state.error !== null, 10_000, "the registration to be refused");
    expect(engine.state.ready).toBe(false);
    expect(engine.state.error).toMatch(/"unsupported-throttled".*"throttle" is not supported/);
  } finally {
    await engine.stop();
    app.close();
  }
});
