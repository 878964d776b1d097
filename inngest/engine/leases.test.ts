/**
 * Leases and timeouts: the request timeout is the real one and spends an attempt; the same job never runs
 * twice at once, even when the engine gave up on a call the app is still running; a lease nobody renews
 * is taken over once it expires; an engine registered by a forged request still calls only its own app.
 */
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { claimJob } from "./queue";
import { listen } from "./server";
import { startHarness, until, type Harness } from "./test/harness";

const spans: { start: number; end: number }[] = [];
let h: Harness;

beforeAll(async () => {
  h = await startHarness(
    (client) => {
      // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
      const fns = [
        client.createFunction({ id: "slow", retries: 2, triggers: [{ event: "test/slow" }] }, async ({ step }) => {
          await step.run("longer than the timeout", async () => {
            const start = Date.now();
            await new Promise((r) => setTimeout(r, 3000));
            spans.push({ start, end: Date.now() });
          });
        }),
        client.createFunction({ id: "quick", triggers: [{ event: "test/quick" }] }, async ({ step }) =>
          step.run("answer", () => 42),
        ),
      ];
      return fns;
    },
    { requestTimeoutMs: 2000, leaseMs: 1500, backoffBaseMs: 10 },
  );
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

it("times a call out at the request timeout, spends an attempt each time, and never overlaps a job with itself", async () => {
  await h.client.send({ name: "test/slow", data: {} });
  const run = await h.waitForRun("slow", undefined, 40_000);
  expect(run.status).toBe("failed");
  expect(run.error).toMatchObject({ name: "TimeoutError" });
  const attempts = await h.engine.sql<{ outcome: string; attempt: number }[]>`
    select outcome, attempt from engine_attempts where run_id = ${run.id} order by id`;
  expect(attempts.map((a) => [a.outcome, a.attempt])).toEqual([
    ["timed_out", 0],
    ["timed_out", 1],
    ["timed_out", 2],
  ]);
  // Each call waited for the one before to end in the app (409 busy) before it ran the step again.
  await until(() => spans.length === 3, 10_000, "the last call to end in the app");
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
}, 60_000);

it("takes over a job whose lease expired, counting the lost call as an attempt", async () => {
  // Another process claims the job, then dies without renewing its lease.
  h.engine.workers.pause();
  await h.client.send({ name: "test/quick", data: {} });
  const [run] = await h.runsOf("quick");
  await until(
    async () => (await h.engine.sql`select 1 from engine_jobs where run_id = ${run!.id}`).length === 1,
    5_000,
    "the job",
  );
  const { lease } = await claimJob(h.engine.sql, { owner: "dead-host:1", leaseMs: 500 });
  expect(lease?.job.runId).toBe(run!.id);
  h.engine.workers.resume();
  const done = await h.waitForRun("quick", (r) => r.status === "completed", 30_000);
  expect(done.output).toBe(42);
  const attempts = await h.engine.sql<
    { outcome: string; attempt: number }[]
  >`select outcome, attempt from engine_attempts where run_id = ${run!.id} order by id`;
  expect(attempts).toEqual([
    { outcome: "lease_expired", attempt: 0 },
    { outcome: "step_ran", attempt: 1 }, // the step's call, taken over as its second attempt
    { outcome: "completed", attempt: 0 }, // the run's next call
  ]);
}, 45_000);

it("calls only the configured app URL, whatever a registration says", async () => {
  let calls = 0;
  const elsewhere = http.createServer((_req, res) => {
    calls++;
    res.writeHead(200, { "content-type": "application/json" }).end('"hijacked"');
  });
  const port = await listen(elsewhere, 0);
  try {
    // A forged Host header on the app's own sync endpoint…
    const forged = await fetch(h.appUrl, { method: "PUT", headers: { host: `127.0.0.1:${port}` } });
    expect(forged.status).toBe(200);
    // …and a registration naming another URL outright, with the engine's own key.
    const { hashedSigningKey } = await import("./signing");
    const configs = await h.engine.db.query.engineFunctions.findMany();
    const redirected = configs.map((f) => {
      const config = f.config as { steps: { step: { runtime: { url: string } } } };
      config.steps.step.runtime.url = `http://127.0.0.1:${port}/api/inngest`;
      return config;
    });
    const registered = await fetch(`http://127.0.0.1:${h.engine.port}/fn/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${hashedSigningKey(h.keys.signingKey)}`, "content-type": "application/json" },
      body: JSON.stringify({ appName: h.appId, functions: redirected }),
    });
    expect(registered.status).toBe(200);

    await h.client.send({ name: "test/quick", data: { after: "registration" } });
    const run = await h.waitForRun(
      "quick",
      (r) => r.status === "completed" && (r.event as { data: { after?: string } }).data.after === "registration",
    );
    expect(run.output).toBe(42);
    expect(calls).toBe(0);
  } finally {
    elsewhere.close();
  }
});
