/**
 * The embedded engine holds functions to Inngest's own limits, and fails them as Inngest does: what would
 * fail on Inngest fails here first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INNGEST_LIMITS } from "./limits";
import { startHarness, type Harness } from "./test/harness";

let h: Harness;
let small: Harness;

beforeAll(async () => {
  h = await startHarness((client) => {
    // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
    const fns = [
      client.createFunction(
        { id: "many-steps", retries: 0, triggers: [{ event: "test/many-steps" }] },
        async ({ event, step }) => {
          for (let i = 0; i < (event.data.steps as number); i++) await step.run(`step ${i}`, () => i);
          return "done";
        },
      ),
      client.createFunction(
        { id: "big-result", retries: 1, triggers: [{ event: "test/big-result" }] },
        async ({ event, step }) => {
          await step.run("big", () => "x".repeat(event.data.bytes as number));
          return "done";
        },
      ),
      client.createFunction({ id: "noop", triggers: [{ event: "test/noop" }] }, () => "ok"),
    ];
    return fns;
  });
  // Run state is tested against a lowered limit: the mechanism is the same, without moving 32 MB around.
  small = await startHarness(
    (client) => {
      // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
      const fns = [
        client.createFunction(
          { id: "growing", retries: 0, triggers: [{ event: "test/growing" }] },
          async ({ step }) => {
            for (let i = 0; i < 10; i++) await step.run(`chunk ${i}`, () => "y".repeat(30_000));
            return "done";
          },
        ),
      ];
      return fns;
    },
    { limits: { maxRunStateBytes: 100_000 } },
  );
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await small?.stop();
});

describe("Inngest's limits", () => {
  it("runs 1,000 steps, then fails the run at the 1,001st, without retries", async () => {
    expect(INNGEST_LIMITS.maxStepsPerRun).toBe(1000);
    await h.client.send({ name: "test/many-steps", data: { steps: 1001 } });
    // Every step replays the ones before it (as on Inngest): ~150 s on an idle 2-core machine, more under load.
    const run = await h.waitForRun("many-steps", undefined, 480_000);
    expect(run.status).toBe("failed");
    expect(run.stepCount).toBe(1000);
    expect(run.error).toEqual({
      error: "function has too many steps",
      name: "InngestErrFunctionOverflowed",
      message: "The function run exceeded the step limit of 1000 steps.",
    });
  }, 500_000);

  it("fails a step whose result is over 4 MB, once its attempts are spent", async () => {
    await h.client.send({ name: "test/big-result", data: { bytes: 5 * 1024 * 1024 } });
    const run = await h.waitForRun("big-result", undefined, 60_000);
    expect(run.status).toBe("failed");
    expect((run.error as { message: string }).message).toMatch(/step output size is greater than the limit/);
    const attempts = await h.engine.sql<
      { outcome: string; attempt: number }[]
    >`select outcome, attempt from engine_attempts where run_id = ${run.id} order by id`;
    expect(attempts.map((a) => [a.outcome, a.attempt])).toEqual([
      ["step_error", 0],
      ["step_error", 1],
    ]);
    expect(run.stepCount).toBe(0);
  }, 70_000);

  it("keeps a 4 MB result that fits", async () => {
    await h.client.send({ name: "test/big-result", data: { bytes: 4 * 1024 * 1024 - 100 } });
    const run = await h.waitForRun("big-result", (r) => r.status === "completed", 60_000);
    expect(run.stepCount).toBe(1);
  }, 70_000);

  it("fails a run whose saved state grows past the limit, without retries", async () => {
    await small.client.send({ name: "test/growing", data: {} });
    const run = await small.waitForRun("growing", undefined, 30_000);
    expect(run.status).toBe("failed");
    expect(run.error).toMatchObject({
      name: "InngestErrStateOverflowed",
      message: "The function run exceeded the state size limit of 100000 bytes.",
    });
    expect(run.stepCount).toBe(4); // the fourth 30 KB result took the state past 100 KB
  });

  it("refuses an event over 256 KiB and a send of more than 5,000 events, storing nothing", async () => {
    await expect(h.client.send({ name: "test/noop", data: { blob: "z".repeat(300 * 1024) } })).rejects.toThrow(
      /Event is over the max size: Max 262144 bytes/,
    );
    await expect(h.client.send(Array.from({ length: 5001 }, () => ({ name: "test/noop", data: {} })))).rejects.toThrow(
      /Cannot have more than 5000 events in a batch/,
    );
    const [row] = await h.engine.sql`select count(*)::int as n from engine_events where name = 'test/noop'`;
    expect(row!.n).toBe(0);
  });
});
