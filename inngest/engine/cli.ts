/**
 * Operator commands for the embedded engine, against the app's database (DATABASE_URL, or the embedded
 * PostgreSQL of a running Wire):
 *   npm run engine -- runs [--status failed] [--function <id>] [--limit 20]
 *   npm run engine -- show <runId>
 *   npm run engine -- replay <runId>
 */
import { parseArgs } from "node:util";
import { closeDb, getDb } from "@/db/client";
import { listRuns, replayRun, runDetail, type RunStatus } from "./admin";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { status: { type: "string" }, function: { type: "string" }, limit: { type: "string" } },
});
const [command, runId] = positionals;

function message(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return error === null || error === undefined ? "" : JSON.stringify(error);
}

async function main() {
  const db = getDb();
  if (command === "runs") {
    const runs = await listRuns(db, { status: values.status as RunStatus | undefined, functionId: values.function, limit: Number(values.limit ?? 20) });
    if (!runs.length) return console.log("No runs.");
    for (const r of runs) {
      console.log([r.id, r.status.padEnd(9), r.createdAt.toISOString(), r.functionId, r.error ? `— ${message(r.error)}` : ""].join("  "));
    }
    return;
  }
  if (command === "show" && runId) {
    const detail = await runDetail(db, runId);
    if (!detail) throw new Error(`No run ${runId}`);
    const { run, steps, attempts } = detail;
    console.log(`${run.id}  ${run.functionId}  ${run.status}${run.replayOf ? `  (replay of ${run.replayOf})` : ""}`);
    console.log(`event: ${JSON.stringify(run.event)}`);
    if (run.error) console.log(`error: ${message(run.error)}`);
    console.log("\nsteps:");
    for (const s of steps) console.log(`  ${s.createdAt.toISOString()}  ${s.op.padEnd(12)} ${s.name ?? s.id}`);
    console.log("\nattempts:");
    for (const a of attempts) {
      console.log(`  ${a.at.toISOString()}  #${a.attempt}  ${a.outcome.padEnd(14)} ${a.stepName ?? a.stepId ?? "(discover)"}  ${a.durationMs} ms  ${a.error ? message(a.error) : ""}`);
    }
    return;
  }
  if (command === "replay" && runId) {
    console.log(`Replaying as run ${await replayRun(db, runId)}`);
    return;
  }
  console.error("Usage: npm run engine -- runs [--status failed] [--function <id>] [--limit N] | show <runId> | replay <runId>");
  process.exitCode = 2;
}

main()
  .catch((error: unknown) => {
    console.error(message(error));
    process.exitCode = 1;
  })
  .finally(() => closeDb());
