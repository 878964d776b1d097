/**
 * Benchmark of the embedded engine: 100 runs of a 10-step function (and of a 1-step function, to
 * separate per-step cost from per-run cost), over real HTTP against a throwaway embedded PostgreSQL.
 *   npm run bench:engine [-- --runs 100 --workers 4]
 */
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
import { embeddedClientOptions } from "../engine-config";
import { inngestHandlers } from "../serve";
import { startEngine } from ".";
import { listen } from "./server";
import { serveRoute } from "./test/serve-route";

const { values } = parseArgs({ options: { runs: { type: "string", default: "100" }, workers: { type: "string", default: "4" } } });
const RUNS = Number(values.runs);
const WORKERS = Number(values.workers);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-bench-"));
fs.chmodSync(dataDir, 0o755);
const pgPort = 20000 + Math.floor(Math.random() * 20000);
const password = randomBytes(8).toString("hex");
const pg = await startEmbeddedPostgres({ dataDir, port: pgPort, password, database: "bench" });
const url = process.env.DATABASE_URL ?? `postgres://postgres:${password}@127.0.0.1:${pgPort}/bench`;
await migrateDatabase(url);

const keys = { signingKey: `signkey-bench-${randomBytes(32).toString("hex")}`, eventKey: randomBytes(16).toString("hex") };
const enginePort = pgPort + 1;
const client = new Inngest({ id: "bench", ...embeddedClientOptions(keys, enginePort) });
const stepsFn = (steps: number) =>
  client.createFunction({ id: `steps-${steps}`, triggers: [{ event: `bench/steps-${steps}` }] }, async ({ step }) => {
    let total = 0;
    for (let i = 0; i < steps; i++) total += await step.run(`step ${i}`, () => i);
    return total;
  });
const app = serveRoute(inngestHandlers([stepsFn(1), stepsFn(10)], client) as never);
const appPort = await listen(app, 0);
const engine = await startEngine({
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
const sql = postgres(url, { max: 1, onnotice: () => {} });

async function measure(steps: number) {
  const started = Date.now();
  await client.send(Array.from({ length: RUNS }, (_, n) => ({ name: `bench/steps-${steps}`, data: { n } })));
  for (;;) {
    const [row] = await sql`select count(*)::int as n from engine_runs where function_id = ${`bench-steps-${steps}`} and status = 'completed'`;
    if (row!.n === RUNS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (Date.now() - started) / 1000;
  const latencies = (
    await sql`select extract(epoch from ended_at - created_at) * 1000 as ms from engine_runs where function_id = ${`bench-steps-${steps}`} order by 1`
  ).map((r) => Number(r.ms));
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { seconds, runsPerSecond: RUNS / seconds, stepsPerSecond: (RUNS * steps) / seconds, p50: pct(50), p95: pct(95) };
}

const one = await measure(1);
const ten = await measure(10);
// Each extra step costs one more request/response turn; the difference isolates that cost.
const perStepMs = ((ten.seconds - one.seconds) * 1000 * WORKERS) / (RUNS * 9);
const fmt = (n: number, digits = 1) => n.toFixed(digits);
console.log(`embedded engine, ${RUNS} runs, ${WORKERS} workers, ${os.cpus().length} cores`);
console.log(`  1-step function : ${fmt(one.seconds, 2)} s total, ${fmt(one.runsPerSecond)} runs/s, run latency p50 ${fmt(one.p50, 0)} ms, p95 ${fmt(one.p95, 0)} ms`);
console.log(`  10-step function: ${fmt(ten.seconds, 2)} s total, ${fmt(ten.runsPerSecond)} runs/s, ${fmt(ten.stepsPerSecond)} steps/s, run latency p50 ${fmt(ten.p50, 0)} ms, p95 ${fmt(ten.p95, 0)} ms`);
console.log(`  per-step overhead: ${fmt(perStepMs)} ms of worker time per extra step (${fmt((ten.seconds * 1000) / (RUNS * 10), 2)} ms wall per step overall)`);

await sql.end();
await engine.stop();
app.close();
await pg.stop();
fs.rmSync(dataDir, { recursive: true, force: true });
