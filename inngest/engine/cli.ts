/**
 * Operator commands for the embedded engine, against the app's database (DATABASE_URL, or the embedded
 * PostgreSQL of a running Wire):
 *   npm run engine -- status
 *   npm run engine -- runs [--status failed] [--function <id>] [--limit 20]
 *   npm run engine -- show <runId>
 *   npm run engine -- replay <runId>
 */
import "server-only";
import { parseArgs } from "node:util";
import { closeDb, getDb } from "@/db/client";
import { listRuns, replayRun, runDetail, type RunStatus } from "./admin";
import { queueHealth, type QueueHealth } from "./status";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { status: { type: "string" }, function: { type: "string" }, limit: { type: "string" } },
});
const [command, runId] = positionals;

function message(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) return String(error.message);
  return error === null || error === undefined ? "" : JSON.stringify(error);
}

function printQueue(queue: QueueHealth) {
  console.log(
    `queue: ${queue.degraded ? "DEGRADED" : "ok"} · ${queue.running} running · ${queue.due} due (oldest waited ${Math.round(queue.oldestDueMs / 1000)} s)` +
      ` · ${queue.waitingForSlot} waiting for a concurrency slot · ${queue.expiredLeases} expired lease(s)`,
  );
  for (const reason of queue.reasons) console.log(`  ${reason}`);
}

async function main() {
  const db = getDb();
  if (command === "status") {
    printQueue(await queueHealth(db.$client));
    return;
  }
  if (command === "runs") {
    printQueue(await queueHealth(db.$client));
    const runs = await listRuns(db, {
      status: values.status as RunStatus | undefined,
      functionId: values.function,
      limit: Number(values.limit ?? 20),
    });
    if (!runs.length) {
      console.log("No runs.");
      return;
    }
    console.log("");
    for (const r of runs) {
      console.log(
        [
          r.id,
          r.status.padEnd(9),
          r.createdAt.toISOString(),
          r.functionId,
          r.error ? `— ${message(r.error)}` : "",
        ].join("  "),
      );
    }
    return;
  }
  if (command === "show" && runId) {
    const detail = await runDetail(db, runId);
    if (!detail) throw new Error(`No run ${runId}`);
    const { run, steps, attempts } = detail;
    console.log(`${run.id}  ${run.functionId}  ${run.status}${run.replayOf ? `  (replay of ${run.replayOf})` : ""}`);
    console.log(`event: ${JSON.stringify(run.event)}`);
    console.log(`${run.stepCount} step(s) saved, ${run.stateBytes} bytes of state`);
    if (run.error) console.log(`error: ${message(run.error)}`);
    console.log("\nsteps:");
    for (const s of steps) console.log(`  ${s.createdAt.toISOString()}  ${s.op.padEnd(12)} ${s.name ?? s.id}`);
    console.log("\nattempts:");
    for (const a of attempts) {
      console.log(
        `  ${a.at.toISOString()}  #${a.attempt}  ${a.outcome.padEnd(14)} ${a.stepName ?? a.stepId ?? "(discover)"}  ${a.durationMs} ms  ${a.error ? message(a.error) : ""}`,
      );
    }
    return;
  }
  if (command === "replay" && runId) {
    console.log(`Replaying as run ${await replayRun(db, runId)}`);
    return;
  }
  console.error(
    "Usage: npm run engine -- status | runs [--status failed] [--function <id>] [--limit N] | show <runId> | replay <runId>",
  );
  process.exitCode = 2;
}

main()
  .catch((error: unknown) => {
    console.error(message(error));
    process.exitCode = 1;
  })
  .finally(() => closeDb());
