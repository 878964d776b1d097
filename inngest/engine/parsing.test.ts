import { describe, expect, it } from "vitest";
import { parseDurationMs, sleepUntil } from "./durations";
import { parseEventFilter, parseEventMatch, UnsupportedFeatureError, valueAt } from "./expressions";
import { compileFunction, type RegisteredConfig } from "./registry";

describe("expressions", () => {
  it("reads trigger filters with string, number and boolean literals", () => {
    expect(parseEventFilter("event.data.function_id == 'wire-sync'")).toEqual({
      path: "data.function_id",
      value: "wire-sync",
    });
    expect(parseEventFilter("event.data.n == 3")).toEqual({ path: "data.n", value: 3 });
    expect(parseEventFilter("event.data.ok == true")).toEqual({ path: "data.ok", value: true });
    expect(parseEventFilter(`event.data.s == "it's"`)).toEqual({ path: "data.s", value: "it's" });
  });

  it("reads match expressions in either order", () => {
    expect(parseEventMatch("event.data.sourceId == async.data.sourceId")).toEqual({
      eventPath: "data.sourceId",
      asyncPath: "data.sourceId",
    });
    expect(parseEventMatch("async.data.id == event.data.user.id")).toEqual({
      eventPath: "data.user.id",
      asyncPath: "data.id",
    });
  });

  it.each([
    "event.data.a != 'x'",
    "event.data.a == 'x' && event.data.b == 'y'",
    "size(event.data) > 1",
    "event.data.a == event.data.b",
    "",
  ])("refuses %j", (expression) => {
    expect(() => parseEventMatch(expression)).toThrow(UnsupportedFeatureError);
    expect(() => parseEventFilter(expression)).toThrow(UnsupportedFeatureError);
  });

  it("walks paths", () => {
    expect(valueAt({ data: { a: { b: 1 } } }, "data.a.b")).toBe(1);
    expect(valueAt({ data: null }, "data.a")).toBeUndefined();
  });
});

describe("durations", () => {
  it("reads SDK time strings and ISO dates", () => {
    expect(parseDurationMs("1s")).toBe(1000);
    expect(parseDurationMs("1h30m")).toBe(5_400_000);
    expect(parseDurationMs("2d")).toBe(172_800_000);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseDurationMs("soon")).toBeNull();
    expect(sleepUntil("2030-01-01T00:00:00.000Z").toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(() => sleepUntil("whenever")).toThrow(/Cannot read sleep duration/);
  });
});

describe("registration", () => {
  const base: RegisteredConfig = {
    id: "app-fn",
    triggers: [{ event: "a/b" }],
    steps: {
      step: {
        runtime: { type: "http", url: "http://app/api/inngest?fnId=app-fn&stepId=step" },
        retries: { attempts: 2 },
      },
    },
  };

  it("compiles what it supports", () => {
    const fn = compileFunction({
      ...base,
      concurrency: [{ limit: 1, key: "event.data.sourceId" }],
      cancel: [{ event: "a/c", if: "event.data.id == async.data.id", timeout: "1h" }],
    });
    expect(fn).toMatchObject({
      maxAttempts: 3,
      concurrency: { limit: 1, keyPath: "data.sourceId" },
      cancel: [{ event: "a/c", match: { eventPath: "data.id", asyncPath: "data.id" }, timeoutMs: 3_600_000 }],
    });
    expect(compileFunction({ ...base, steps: { step: { runtime: base.steps!.step!.runtime } } }).maxAttempts).toBe(5);
  });

  it.each([
    [{ concurrency: [{ limit: 1, scope: "account", key: "event.data.x" }] }, /scope "account"/],
    [{ concurrency: [{ limit: 1 }, { limit: 2 }] }, /only one concurrency limit/],
    [{ concurrency: [{ limit: 1, key: "event.data.a + event.data.b" }] }, /concurrency key/],
    [{ debounce: { period: "1s" } }, /"debounce" is not supported/],
    [{ batchEvents: { maxSize: 10 } }, /"batchEvents" is not supported/],
    [{ triggers: [{ cron: "not a cron" }] }, /invalid cron/],
    [{ triggers: [{ event: "a/b", expression: "event.data.x > 1" }] }, /Unsupported trigger expression/],
  ] as const)("refuses %j", (extra, message) => {
    expect(() => compileFunction({ ...base, ...extra } as RegisteredConfig)).toThrow(message);
  });
});
