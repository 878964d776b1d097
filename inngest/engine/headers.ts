/** Headers the embedded engine and the app's /api/inngest (job-guard.ts) use beyond the SDK's protocol. */

/** Which job a call belongs to: the app runs one call of a job at a time. */
export const JOB_HEADER = "x-wire-job";
/** Set by the app on a 409 when an earlier call of the same job is still running there. */
export const BUSY_HEADER = "x-wire-job-busy";
