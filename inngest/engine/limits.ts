/**
 * Inngest's own limits, enforced by the embedded engine so a function that Inngest would stop fails here
 * first (the embedded engine is the only executor our tests see). Values and error texts are Inngest's
 * (pkg/consts/consts.go, pkg/execution/state in inngest/inngest; docs: usage limits). The event size is
 * Inngest Cloud's smallest plan limit (256 KiB), so an event that fits here fits on every plan.
 */
export interface EngineLimits {
  /** Step results saved per run (step.run, sleeps, waits), checked before every call to the app. */
  maxStepsPerRun: number;
  /** Serialized size of one step's result. */
  maxStepOutputBytes: number;
  /** The event plus every saved step result of a run. */
  maxRunStateBytes: number;
  /** Serialized size of one event. */
  maxEventBytes: number;
  /** Events in one send. */
  maxEventsPerRequest: number;
  /** A response body from the app (step output + input). */
  maxResponseBytes: number;
}

const MiB = 1024 * 1024;

export const INNGEST_LIMITS: EngineLimits = {
  maxStepsPerRun: 1000,
  maxStepOutputBytes: 4 * MiB,
  maxRunStateBytes: 32 * MiB,
  maxEventBytes: 256 * 1024,
  maxEventsPerRequest: 5000,
  maxResponseBytes: 8 * MiB,
};

/** The run is failed, without retries, as Inngest fails it. */
export const stepLimitError = (limit: number) => ({
  error: "function has too many steps",
  name: "InngestErrFunctionOverflowed",
  message: `The function run exceeded the step limit of ${limit} steps.`,
});

export const stateLimitError = (limit: number) => ({
  error: "state is too large",
  name: "InngestErrStateOverflowed",
  message: `The function run exceeded the state size limit of ${limit} bytes.`,
});

export const responseTooLargeError = () => ({
  error: "output_too_large",
  name: "output_too_large",
  message: "Your function's response body exceeds the maximum size limit",
});

/** A step error like any other: the step is retried, and the run fails once its attempts are spent. */
export const stepOutputTooLargeError = (stepId: string) => ({
  name: "Error",
  message: `error validating generator opcode ${stepId}: step output size is greater than the limit`,
});

export class EventRejectedError extends Error {
  readonly status = 400;
}

export function byteLength(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(jsonText(value) ?? "", "utf8");
}

/** JSON.stringify as it behaves: undefined for a function or a symbol, whatever its declared return type says. */
function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value);
}
