/**
 * Benchmark of the embedded engine over real HTTP against a throwaway embedded PostgreSQL:
 *  1. 100 runs of a 10-step function and of a 1-step one: steps/s and the cost of one more step, split
 *     into the app's time (the SDK handling the call) and the engine's (everything else);
 *  2. a burst of 5,000 events into a function with `concurrency: { limit: 4 }` (as process-file has);
 *  3. the idle engine: transactions per second with nothing to do.
 *   npm run bench:engine [-- --runs 100 --burst 5000 --workers 4]
 */
import "server-only";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Inngest } from "inngest";
import postgres from "postgres";
import { startEmbeddedPostgres } from "@/db/embedded";
import { migrateDatabase } from "@/db/migrate";
import { logger } from "@/server/logger";
import { inngestHandlers } from "../serve";
import { embeddedClientOptions } from "./config";
import { startEngine } from ".";
import { listen } from "./server";
import { serveRoute } from "./test/serve-route";
import { defined } from "@/server/defined";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100" },
    burst: { type: "string", default: "5000" },
    workers: { type: "string", default: "4" },
  },
});
const RUNS = Number(values.runs);
const BURST = Number(values.burst);
const WORKERS = Number(values.workers);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-bench-"));
fs.chmodSync(dataDir, 0o755);
const pgPort = 20000 + Math.floor(Math.random() * 20000);
const password = randomBytes(8).toString("hex");
const pg = await startEmbeddedPostgres({ dataDir, port: pgPort, password, database: "bench" });
const url = process.env.DATABASE_URL ?? `postgres://postgres:${password}@127.0.0.1:${pgPort}/bench`;
await migrateDatabase(url);
const sql = postgres(url, { max: 2, onnotice: () => {} });

const keys = {
  signingKey: `signkey-bench-${randomBytes(32).toString("hex")}`,
  eventKey: randomBytes(16).toString("hex"),
};
const enginePort = pgPort + 1;
const client = new Inngest({ id: "bench", ...embeddedClientOptions(keys, enginePort) });
const stepsFn = (steps: number) =>
  client.createFunction({ id: `steps-${steps}`, triggers: [{ event: `bench/steps-${steps}` }] }, async ({ step }) => {
    let total = 0;
    for (let i = 0; i < steps; i++) total += await step.run(`step ${i}`, () => i);
    return total;
  });
const limited = client.createFunction(
  { id: "limited", concurrency: { limit: 4 }, triggers: [{ event: "bench/burst" }] },
  async ({ event, step }) => step.run("work", () => event.data.n as number),
);

// The app's share of each call, timed around the /api/inngest handler itself.
let appMs = 0;
let appCalls = 0;
const inngestRoute = inngestHandlers([stepsFn(1), stepsFn(10), limited], { client, lockDatabase: () => sql });
const handlers = inngestRoute as unknown as Record<string, (req: Request) => Promise<Response>>;
const post = defined(handlers.POST, "the inngest route's POST handler");
const timedPost = async (req: Request) => {
  const started = performance.now();
  try {
    return await post(req);
  } finally {
    appMs += performance.now() - started;
    appCalls++;
  }
};
const app = serveRoute({ ...handlers, POST: timedPost });
const appPort = await listen(app, 0);
// The engine's own transactions: a BEGIN, or a statement outside one (pg_stat_database also counts autovacuum).
let engineTransactions = 0;
const inTransaction = new Set<number>();
const countTransactions = (query: string, connection: number) => {
  const q = query.trim().toLowerCase();
  if (q.startsWith("begin")) {
    engineTransactions++;
    inTransaction.add(connection);
  } else if (q.startsWith("commit") || q.startsWith("rollback")) inTransaction.delete(connection);
  else if (!inTransaction.has(connection)) engineTransactions++;
};
const engine = await startEngine({
  onQuery: countTransactions,
  databaseUrl: url,
  port: enginePort,
  appUrl: `http://127.0.0.1:${appPort}/api/inngest`,
  ...keys,
  workers: WORKERS,
  backoffBaseMs: 1000,
  requestTimeoutMs: 60_000,
  log: logger.child({}, { level: "warn" }),
});
while (!engine.state.ready) await new Promise((r) => setTimeout(r, 20));

async function waitForRuns(functionId: string, n: number) {
  for (;;) {
    const [row] = await sql<
      { n: number }[]
    >`select count(*)::int as n from engine_runs where function_id = ${functionId} and status = 'completed'`;
    if (defined(row, "the count of completed runs").n >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pgCpuMs(): number {
  let ticks = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.includes("(postgres)")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between listing /proc and reading its stat: it has no CPU time left to count.
    }
  }
  return ticks * 10;
}
async function measure(steps: number) {
  appMs = 0;
  appCalls = 0;
  const cpu0 = process.cpuUsage();
  const pg0 = pgCpuMs();
  const started = Date.now();
  await client.send(Array.from({ length: RUNS }, (_, n) => ({ name: `bench/steps-${steps}`, data: { n } })));
  await waitForRuns(`bench-steps-${steps}`, RUNS);
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const calls = RUNS * (steps + 1);
  return {
    seconds,
    runsPerSecond: RUNS / seconds,
    stepsPerSecond: (RUNS * steps) / seconds,
    appMs,
    appCalls,
    nodeCpuPerCall: (cpu.user + cpu.system) / 1000 / calls,
    pgCpuPerCall: (pgCpuMs() - pg0) / calls,
  };
}

/** Most calls of one function in progress at once, from the attempts' start times and durations. */
async function peakConcurrency(functionId: string): Promise<number> {
  const [row] = await sql<{ peak: number }[]>`
    with calls as (
      select distinct a.run_id, a.started_at, a.started_at + make_interval(secs => a.duration_ms / 1000.0) as ended_at
      from engine_attempts a join engine_runs r on r.id = a.run_id where r.function_id = ${functionId}
    ),
    edges as (select started_at as at, 1 as d from calls union all select ended_at, -1 from calls)
    select coalesce(max(running), 0)::int as peak from (select sum(d) over (order by at, d) as running from edges) s`;
  return defined(row, "the peak concurrency").peak;
}

const one = await measure(1);
const ten = await measure(10);

// Each extra step costs one more call. The difference between the two functions isolates that cost, in
// worker time (wall time × workers); the app's time per call is measured around its handler.
const perStepMs = ((ten.seconds - one.seconds) * 1000 * WORKERS) / (RUNS * 9);

// One call at a time (one run after another): each call's wall time splits cleanly into the app's handler
// and everything else, which is the engine's overhead per step.
const SEQUENTIAL = 20;
appMs = 0;
appCalls = 0;
for (let n = 0; n < SEQUENTIAL; n++) {
  await client.send({ name: "bench/steps-10", data: { sequential: n } });
  for (;;) {
    const [row] = await sql<
      { n: number }[]
    >`select count(*)::int as n from engine_runs where function_id = 'bench-steps-10' and status = 'completed' and event->'data' ? 'sequential'`;
    if (defined(row, "the count of sequential runs").n > n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}
// From each run's creation to its end, as the engine recorded them: 11 calls each.
const [sequentialRow] = await sql<{ ms: number | null }[]>`
  select sum(extract(epoch from ended_at - created_at) * 1000)::float8 as ms from engine_runs
  where function_id = 'bench-steps-10' and event->'data' ? 'sequential'`;
const sequentialPerCall = Number(defined(sequentialRow, "the sequential runs' time").ms) / (SEQUENTIAL * 11);
const sequentialAppPerCall = appMs / appCalls;

const burstStarted = Date.now();
await client.send(Array.from({ length: BURST }, (_, n) => ({ name: "bench/burst", data: { n } })));
const sent = Date.now();
await waitForRuns("bench-limited", BURST);
const burstSeconds = (Date.now() - burstStarted) / 1000;
const peak = await peakConcurrency("bench-limited");

// Idle: nothing queued; the engine's transactions over 30 s.
await new Promise((r) => setTimeout(r, 2000));
const before = engineTransactions;
await new Promise((r) => setTimeout(r, 30_000));
const idlePerSecond = (engineTransactions - before) / 30;

const fmt = (n: number, digits = 1) => n.toFixed(digits);
console.log(`embedded engine, ${WORKERS} workers, ${os.cpus().length} cores`);
console.log(`  ${RUNS} runs × 1 step : ${fmt(one.seconds, 2)} s, ${fmt(one.runsPerSecond)} runs/s`);
console.log(
  `  ${RUNS} runs × 10 steps: ${fmt(ten.seconds, 2)} s, ${fmt(ten.runsPerSecond)} runs/s, ${fmt(ten.stepsPerSecond)} steps/s`,
);
console.log(
  `  one more step under load: ${fmt(perStepMs)} ms of worker time (wall time × workers); CPU per call: node ${fmt(ten.nodeCpuPerCall, 2)} ms (engine and app), postgres ${fmt(ten.pgCpuPerCall, 2)} ms`,
);
console.log(
  `  one call at a time: ${fmt(sequentialPerCall, 2)} ms per step = ${fmt(sequentialAppPerCall, 2)} ms in the app's handler (SDK) + ${fmt(sequentialPerCall - sequentialAppPerCall, 2)} ms engine overhead`,
);
console.log(
  `  burst: ${BURST} events into concurrency limit 4: ${fmt(burstSeconds, 2)} s (send ${sent - burstStarted} ms), ${fmt(BURST / burstSeconds)} runs/s, peak ${peak} calls at once`,
);
console.log(`  idle: ${fmt(idlePerSecond, 2)} engine transactions/s`);

await engine.stop();
await inngestRoute.close();
await sql.end();
app.close();
await pg.stop();
fs.rmSync(dataDir, { recursive: true, force: true });
