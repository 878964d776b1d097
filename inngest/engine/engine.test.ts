/**
 * The embedded engine driving real SDK functions over real HTTP, with state in a real Postgres.
 */
import { eventType, NonRetriableError, RetryAfterError } from "inngest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { engineAttempts, engineJobs, engineSchedules } from "@/db/schema";
import { eq, inArray, sql } from "drizzle-orm";
import { listRuns, replayRun, runDetail } from "./admin";
import { NOTIFY_CHANNEL } from "./queue";
import { startHarness, until, type Harness } from "./test/harness";

/** Side effects the functions record, to count how often each step body really ran. */
const effects: string[] = [];
const count = (tag: string) => effects.filter((e) => e === tag).length;
const intervals: Record<string, { start: number; end: number }[]> = {};
const runSpans: Record<string, { start: number; end: number }[]> = {};
let flaky = 0;
const flakyCalls: number[] = [];
const retryAfterCalls: number[] = [];
let brokenUntilFixed = true;

let h: Harness;

/** The events whose data the functions read, typed as the app types its own (inngest/events.ts). */
const sequentialEvent = eventType("test/sequential", { schema: z.object({ n: z.number() }) });
const childEvent = eventType("test/child", { schema: z.object({ n: z.number() }) });
const serialEvent = eventType("test/serial", { schema: z.object({ key: z.string() }) });
const cancellableEvent = eventType("test/cancellable", { schema: z.object({ id: z.string() }) });
const cancelEvent = eventType("test/cancel", { schema: z.object({ id: z.string() }) });
const approvalEvent = eventType("test/approval", { schema: z.object({ id: z.string(), timeout: z.string() }) });
const approvedEvent = eventType("test/approved", { schema: z.object({ id: z.string(), by: z.string() }) });

interface FailureArgs {
  event: { data: { error: { message: string } } };
  step: { run: (id: string, fn: () => unknown) => Promise<unknown> };
}

beforeAll(async () => {
  h = await startHarness((client) => {
    // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
    const fns = [
      client.createFunction({ id: "sequential", triggers: [sequentialEvent] }, async ({ event, step }) => {
        const a = await step.run("a", () => (effects.push(`a:${event.data.n}`), 1));
        const b = await step.run("b", () => (effects.push(`b:${event.data.n}`), a + 1));
        const c = await step.run("c", () => (effects.push(`c:${event.data.n}`), b + 1));
        return { sum: a + b + c };
      }),
      client.createFunction({ id: "parallel", triggers: [{ event: "test/parallel" }] }, async ({ step }) => {
        const [x, y] = await Promise.all([
          step.run("x", () => (effects.push("x"), "x")),
          step.run("y", () => (effects.push("y"), "y")),
        ]);
        const xyz = await step.run("z", () => (effects.push("z"), `${x}${y}z`));
        return xyz;
      }),
      client.createFunction({ id: "sleeper", triggers: [{ event: "test/sleep" }] }, async ({ step }) => {
        const before = await step.run("before", () => Date.now());
        await step.sleep("nap", "1s");
        const after = await step.run("after", () => Date.now());
        return after - before;
      }),
      client.createFunction({ id: "flaky", retries: 3, triggers: [{ event: "test/flaky" }] }, async ({ step }) => {
        return step.run("sometimes", () => {
          flakyCalls.push(Date.now());
          flaky++;
          if (flaky < 3) throw new Error(`flake ${flaky}`);
          return `ok after ${flaky}`;
        });
      }),
      client.createFunction(
        {
          id: "doomed",
          retries: 5,
          triggers: [{ event: "test/doomed" }],
          onFailure: async ({ event, step }: FailureArgs) => {
            await step.run("record failure", () => effects.push(`onFailure:${event.data.error.message}`));
          },
        },
        async ({ step }) => {
          await step.run("refuse", () => {
            effects.push("refuse");
            throw new NonRetriableError("not today");
          });
        },
      ),
      client.createFunction(
        { id: "retry-after", retries: 2, triggers: [{ event: "test/retry-after" }] },
        async ({ step }) => {
          return step.run("rate limited", () => {
            retryAfterCalls.push(Date.now());
            if (retryAfterCalls.length === 1) throw new RetryAfterError("slow down", 800);
            return "done";
          });
        },
      ),
      client.createFunction({ id: "fan-out", triggers: [{ event: "test/fan-out" }] }, async ({ step }) => {
        await step.sendEvent(
          "children",
          [1, 2, 3].map((n) => childEvent.create({ n })),
        );
      }),
      client.createFunction({ id: "child", triggers: [childEvent] }, async ({ event, step }) => {
        await step.run("child work", () => effects.push(`child:${event.data.n}`));
      }),
      client.createFunction(
        { id: "one-at-a-time", concurrency: { limit: 1, key: "event.data.key" }, triggers: [serialEvent] },
        async ({ event, step }) => {
          const work = (name: string) =>
            step.run(name, async () => {
              const start = Date.now();
              await new Promise((r) => setTimeout(r, 50));
              (intervals[event.data.key] ??= []).push({ start, end: Date.now() });
              return start;
            });
          const started = await work("start");
          await step.sleep("hold", "1s");
          await work("end");
          (runSpans[event.data.key] ??= []).push({ start: started, end: Date.now() });
        },
      ),
      client.createFunction(
        {
          id: "cancellable",
          cancelOn: [{ event: cancelEvent, if: "event.data.id == async.data.id" }],
          triggers: [cancellableEvent],
        },
        async ({ event, step }) => {
          await step.run("begin", () => effects.push(`begin:${event.data.id}`));
          await step.sleep("long nap", "30s");
          await step.run("never", () => effects.push(`never:${event.data.id}`));
        },
      ),
      client.createFunction({ id: "approval", triggers: [approvalEvent] }, async ({ event, step }) => {
        const approved = await step.waitForEvent("approved", {
          event: approvedEvent,
          timeout: event.data.timeout,
          if: "event.data.id == async.data.id",
        });
        return approved ? { by: approved.data.by } : { timedOut: true };
      }),
      client.createFunction({ id: "fragile", retries: 0, triggers: [{ event: "test/fragile" }] }, async ({ step }) => {
        return step.run("depends on a fix", () => {
          if (brokenUntilFixed) throw new Error("still broken");
          return "fixed";
        });
      }),
      // Once a year, so the schedule never fires on its own while the tests run (only when the test moves it).
      client.createFunction({ id: "ticker", triggers: [{ cron: "0 0 1 1 *" }] }, async ({ event, step }) => {
        // Typed as the cron's event or a direct invocation's; only the schedule starts this one.
        const schedule = event.name === "inngest/scheduled.timer" ? event.data.cron : "invoked";
        await step.run("tick", () => effects.push(`tick:${schedule}`));
      }),
    ];
    return fns;
  });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe("embedded engine", () => {
  it("registers every function", () => {
    expect(h.engine.state).toMatchObject({ ready: true, error: null, functions: 14 }); // 13 + doomed's onFailure
  });

  it("runs sequential steps once each and records the output", async () => {
    await h.client.send(sequentialEvent.create({ n: 1 }));
    const run = await h.waitForRun("sequential");
    expect(run.status).toBe("completed");
    expect(run.output).toEqual({ sum: 6 });
    expect([count("a:1"), count("b:1"), count("c:1")]).toEqual([1, 1, 1]);
  });

  it("runs parallel steps, then continues", async () => {
    await h.client.send({ name: "test/parallel", data: {} });
    const run = await h.waitForRun("parallel");
    expect(run.output).toBe("xyz");
    expect([count("x"), count("y"), count("z")]).toEqual([1, 1, 1]);
  });

  it("sleeps", async () => {
    await h.client.send({ name: "test/sleep", data: {} });
    const run = await h.waitForRun("sleeper");
    expect(run.status).toBe("completed");
    expect(run.output as number).toBeGreaterThanOrEqual(1000);
  });

  it("retries a failing step, then succeeds", async () => {
    await h.client.send({ name: "test/flaky", data: {} });
    const run = await h.waitForRun("flaky");
    expect(run.status).toBe("completed");
    expect(run.output).toBe("ok after 3");
    const attempts = await h.engine.db.select().from(engineAttempts).where(eq(engineAttempts.runId, run.id));
    expect(attempts.filter((a) => a.outcome === "step_error").map((a) => a.attempt)).toEqual([0, 1]);
    // Retries are due 10-40 ms later. A worker that missed one would find it only by its 10 s idle
    // safety net (a retry falling due between a claim that found nothing and the nap did just that).
    const gaps = flakyCalls.slice(1).map((at, i) => at - flakyCalls[i]!);
    expect(Math.max(...gaps)).toBeLessThan(5_000);
  });

  it("fails at once on NonRetriableError and calls onFailure", async () => {
    await h.client.send({ name: "test/doomed", data: {} });
    const run = await h.waitForRun("doomed");
    expect(run.status).toBe("failed");
    expect(count("refuse")).toBe(1);
    await until(() => count("onFailure:not today") === 1, 10_000, "onFailure");
  });

  it("waits as long as RetryAfterError asks", async () => {
    await h.client.send({ name: "test/retry-after", data: {} });
    const run = await h.waitForRun("retry-after");
    expect(run.output).toBe("done");
    const gap = retryAfterCalls[1]! - retryAfterCalls[0]!;
    expect(gap).toBeGreaterThanOrEqual(700);
    expect(gap).toBeLessThan(5_000); // not found late by the idle safety net (see the test above)
  });

  it("fans out with step.sendEvent", async () => {
    await h.client.send({ name: "test/fan-out", data: {} });
    await h.waitForRun("fan-out");
    await until(
      async () => (await h.runsOf("child")).filter((r) => r.status === "completed").length === 3,
      10_000,
      "3 children",
    );
    expect([count("child:1"), count("child:2"), count("child:3")]).toEqual([1, 1, 1]);
  });

  it("counts concurrency as Inngest does: never two steps of one key at once, and a sleeping run holds no slot", async () => {
    await h.client.send(Array.from({ length: 6 }, (_, i) => serialEvent.create({ key: i % 2 ? "odd" : "even" })));
    await until(
      async () => (await h.runsOf("one-at-a-time")).filter((r) => r.status === "completed").length === 6,
      30_000,
      "6 runs",
    );
    for (const key of ["odd", "even"]) {
      const steps = intervals[key]!.sort((a, b) => a.start - b.start);
      expect(steps).toHaveLength(6);
      for (let i = 1; i < steps.length; i++) expect(steps[i]!.start).toBeGreaterThanOrEqual(steps[i - 1]!.end);
      // The three runs of a key overlapped in time: while one slept, another's step ran.
      const runs = runSpans[key]!.sort((a, b) => a.start - b.start);
      expect(runs[1]!.start).toBeLessThan(runs[0]!.end);
    }
  }, 40_000);

  it("cancels a sleeping run when a matching cancel event arrives", async () => {
    await h.client.send([cancellableEvent.create({ id: "keep" }), cancellableEvent.create({ id: "stop" })]);
    await until(() => count("begin:keep") === 1 && count("begin:stop") === 1, 10_000, "both runs to start");
    await h.client.send(cancelEvent.create({ id: "stop" }));
    const cancelled = await h.waitForRun("cancellable", (r) => r.status === "cancelled");
    expect((cancelled.event as { data: { id: string } }).data.id).toBe("stop");
    const runs = await h.runsOf("cancellable");
    const keep = runs.find((r) => (r.event as { data: { id: string } }).data.id === "keep")!;
    expect(keep.status).toBe("running");

    // The kept run sleeps until ~30 s from its start, with the step after the sleep not run yet.
    const jobsOf = (ids: string[]) => h.engine.db.select().from(engineJobs).where(inArray(engineJobs.runId, ids));
    const wake = await vi.waitFor(async () => {
      const [job] = await jobsOf([keep.id]);
      expect(job).toMatchObject({ kind: "wake" }); // after "begin", a discover call records the sleep
      return job!;
    });
    expect(wake.dueAt.getTime() - Date.now()).toBeGreaterThan(20_000);
    expect(wake.dueAt.getTime() - Date.now()).toBeLessThanOrEqual(30_000);
    expect(count("never:keep")).toBe(0);

    // End both sleeps now (the cancelled run's too, should its job still exist) instead of waiting 30 s: the kept
    // run goes on past its sleep, the cancelled one must not.
    await h.engine.db
      .update(engineJobs)
      .set({ dueAt: new Date() })
      .where(
        inArray(
          engineJobs.runId,
          runs.map((r) => r.id),
        ),
      );
    await h.engine.db.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, '')`);
    await h.waitForRun("cancellable", (r) => r.id === keep.id && r.status === "completed");
    await expect.poll(async () => (await jobsOf(runs.map((r) => r.id))).length).toBe(0);
    expect(count("never:keep")).toBe(1);
    expect(count("never:stop")).toBe(0);
  });

  it("resumes a waitForEvent on the matching event", async () => {
    await h.client.send(approvalEvent.create({ id: "doc-1", timeout: "30s" }));
    await h.waitForRun("approval", (r) => r.status === "running");
    await until(
      async () => Number((await h.engine.db.execute(sql`select count(*)::int as n from engine_waits`))[0]!.n) === 1,
      10_000,
      "the wait",
    );
    await h.client.send(approvedEvent.create({ id: "other", by: "mallory" }));
    await h.client.send(approvedEvent.create({ id: "doc-1", by: "alice" }));
    const run = await h.waitForRun("approval");
    expect(run.output).toEqual({ by: "alice" });
  });

  it("times out a waitForEvent", async () => {
    await h.client.send(approvalEvent.create({ id: "doc-2", timeout: "1s" }));
    const run = await h.waitForRun(
      "approval",
      (r) => r.status === "completed" && (r.event as { data: { id: string } }).data.id === "doc-2",
    );
    expect(run.output).toEqual({ timedOut: true });
  });

  it("fires cron schedules", async () => {
    const [schedule] = await h.engine.db.select().from(engineSchedules);
    expect(schedule!.cron).toBe("0 0 1 1 *");
    expect(schedule!.nextAt.getTime()).toBeGreaterThan(Date.now());
    await h.engine.db.update(engineSchedules).set({ nextAt: new Date(Date.now() - 1000) });
    // Schedules change through registration, which tells every process to look at its timers again.
    await h.engine.sync();
    await until(() => count("tick:0 0 1 1 *") === 1, 10_000, "the cron run");
    const [after] = await h.engine.db.select().from(engineSchedules);
    expect(after!.nextAt.getTime()).toBeGreaterThan(Date.now());
  });

  it("lists runs with steps, attempts and errors, and replays a failed run", async () => {
    await h.client.send({ name: "test/fragile", data: {} });
    const failed = await h.waitForRun("fragile");
    expect(failed.status).toBe("failed");
    const [listed] = await listRuns(h.engine.db, { status: "failed", functionId: failed.functionId });
    expect(listed).toMatchObject({ id: failed.id, status: "failed", error: { message: "still broken" } });
    const detail = await runDetail(h.engine.db, failed.id);
    expect(detail!.attempts.map((a) => a.outcome)).toContain("step_failed");
    expect(detail!.attempts.find((a) => a.outcome === "step_failed")!.stepName).toBe("depends on a fix");

    brokenUntilFixed = false;
    const replayId = await replayRun(h.engine.db, failed.id);
    const replay = await h.waitForRun("fragile", (r) => r.id === replayId && r.status === "completed");
    expect(replay).toMatchObject({ output: "fixed", replayOf: failed.id });
    await expect(replayRun(h.engine.db, replayId)).rejects.toThrow(/only failed or cancelled runs/);
  });

  it("deduplicates a send the SDK retries with the same event-id seed", async () => {
    const post = () =>
      fetch(`http://127.0.0.1:${h.engine.port}/e/${h.keys.eventKey}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inngest-event-id-seed": "1795676000000,AAECAwQFBgcICQ==" },
        body: JSON.stringify([{ name: "test/sequential", data: { n: 9 } }]),
      }).then((r) => r.json() as Promise<{ ids: string[]; status: number }>);
    const [first, second] = [await post(), await post()];
    expect(first.status).toBe(200);
    expect(second.ids).toEqual(first.ids);
    await h.waitForRun(
      "sequential",
      (r) => (r.event as { data: { n: number } }).data.n === 9 && r.status === "completed",
    );
    expect(
      (await h.runsOf("sequential")).filter((r) => (r.event as { data: { n: number } }).data.n === 9),
    ).toHaveLength(1);
    const wrongKey = await fetch(`http://127.0.0.1:${h.engine.port}/e/not-the-key`, { method: "POST", body: "{}" });
    expect(wrongKey.status).toBe(401);
  });

  it("deduplicates events sent with the same id", async () => {
    await h.client.send(sequentialEvent.create({ n: 7 }, { id: "same-id" }));
    await h.client.send(sequentialEvent.create({ n: 7 }, { id: "same-id" }));
    await h.waitForRun(
      "sequential",
      (r) => (r.event as { data: { n: number } }).data.n === 7 && r.status === "completed",
    );
    expect(
      (await h.runsOf("sequential")).filter((r) => (r.event as { data: { n: number } }).data.n === 7),
    ).toHaveLength(1);
  });
});
