/**
 * Wire's sync beside the plain S3 work it stands for, in one run on one local S3 server (s3rver):
 *   (a) a bare ListObjectsV2 pass over 100,000 objects   vs (b) Wire's no-change sync of them
 *   (c) a plain 32-way GetObject of 10,000 objects to disk vs (d) Wire's backfill of the same 10,000 to Ready
 * Wire is a production build (as `npm start` runs it, its embedded database and engine), driven through its HTTP API
 * as the browser drives it: sign-up, tRPC (typed by the app's router), polling the sources list.
 *   npx next build && npm run bench:sync [-- --list 100000 --objects 10000 --rounds 3]
 * (a) and (b) run in alternating pairs (--rounds): the machine's speed drifts by ~20% over minutes, so each
 * ratio compares runs a few seconds apart, and the median pair is the one reported.
 * BENCH_APP_NODE_ARGS passes flags to the app's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for a profile.
 */
import "server-only";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { createTRPCClient, httpLink } from "@trpc/client";
import pLimit from "p-limit";
import postgres from "postgres";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/router";
import { freePort, startS3rver } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { linkObjects } from "@/server/test/s3-bulk";
import { defined } from "@/server/defined";

const { values } = parseArgs({
  options: {
    list: { type: "string", default: "100000" },
    objects: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
  },
});
const LIST = Number(values.list);
const OBJECTS = Number(values.objects);
const ROUNDS = Number(values.rounds);
const BUCKET = "bench";
/** The Sources page's refresh while a source is queued or syncing. */
const PAGE_POLL_MS = 1000;

if (!fs.existsSync(".next/BUILD_ID")) {
  console.error("No production build: run `npx next build` first.");
  process.exit(1);
}
delete process.env.AWS_CA_BUNDLE;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "wire-bench-sync-"));
fs.chmodSync(work, 0o755);
const seconds = (since: number) => (Date.now() - since) / 1000;

// ── The bucket: LIST copies of one object under list/, OBJECTS distinct ones under docs/.
const s3 = await startS3rver(path.join(work, "s3"), {
  buckets: [BUCKET],
  objects: [{ bucket: BUCKET, key: "template.md", body: `# A page\n\n${"Figures and remarks. ".repeat(25)}` }],
});
const admin = s3AdminClient(s3.endpoint);
const listKey = (i: number) => `list/${String(Math.floor(i / 1000)).padStart(3, "0")}/${String(i).padStart(6, "0")}.md`;
linkObjects(
  path.join(work, "s3"),
  BUCKET,
  "template.md",
  Array.from({ length: LIST }, (_, i) => listKey(i)),
);
const docKeys = Array.from(
  { length: OBJECTS },
  (_, i) => `docs/${String(Math.floor(i / 100)).padStart(3, "0")}/note-${i}.md`,
);
const putLimit = pLimit(32);
await Promise.all(
  docKeys.map((key, i) =>
    putLimit(() =>
      admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: `# Note ${i}\n\n${"Quarterly figures and remarks. ".repeat(20)}`,
          ContentType: "text/markdown",
        }),
      ),
    ),
  ),
);
console.log(`bucket ready: ${LIST} objects under list/, ${OBJECTS} under docs/`);

// ── (a) and (c): the plain S3 work, before Wire starts.
async function bareListing(prefix: string) {
  const started = Date.now();
  let token: string | undefined;
  let count = 0;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
    );
    count += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { seconds: seconds(started), count };
}
const downloadDir = path.join(work, "download");
const getLimit = pLimit(32);
const downloadStarted = Date.now();
const downloadCpu = { client: process.cpuUsage(), server: cpuSeconds(process.pid).others };
await Promise.all(
  docKeys.map((key) =>
    getLimit(async () => {
      const object = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const target = path.join(downloadDir, key);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.writeFile(target, await defined(object.Body, `the body of ${key}`).transformToByteArray());
    }),
  ),
);
const download = {
  seconds: seconds(downloadStarted),
  cpu: { client: cpuSince(downloadCpu.client), server: cpuSeconds(process.pid).others - downloadCpu.server },
};
console.log(`(c) 32-way download of ${OBJECTS}: ${download.seconds.toFixed(1)} s`);

// ── Wire: a production build on its embedded defaults.
const appPort = await freePort();
const pgPort = await freePort();
const baseUrl = `http://127.0.0.1:${appPort}`;
const appDir = path.join(work, "app");
const nodeArgs = process.env.BENCH_APP_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
// What `npm start` runs (node, its flags, next start), without npm's own processes in the measurements.
const startScript = (JSON.parse(fs.readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts
  .start;
const [startNode, ...startArgs] = startScript.split(" ");
if (startNode !== "node") throw new Error(`npm start should run node directly, not: ${startScript}`);
const app: ChildProcess = spawn(process.execPath, [...nodeArgs, ...startArgs, "-p", String(appPort)], {
  env: {
    ...process.env,
    WIRE_DATA_DIR: appDir,
    WIRE_EMBEDDED_PG_PORT: String(pgPort),
    WIRE_ENGINE_PORT: String(await freePort()),
    WIRE_PUBLIC_URL: baseUrl,
    WIRE_ALLOW_PRIVATE_ENDPOINTS: "true",
    WIRE_AUTH_RATE_LIMIT: "off",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
  },
  stdio: ["ignore", "inherit", "inherit"],
});
const appPid = defined(app.pid, "the app process's pid");
let peakRss = 0;
let phasePeak = 0;
const rssSampler = setInterval(() => {
  const rss = appRss(appPid);
  peakRss = Math.max(peakRss, rss);
  phasePeak = Math.max(phasePeak, rss);
}, 250);
/** The app's peak RSS since the last call, in MB. */
const phaseRss = () => {
  const peak = phasePeak;
  phasePeak = appRss(appPid);
  return Math.round(peak / 1024 / 1024);
};
try {
  await until(async () => (await fetch(`${baseUrl}/api/health`).catch(() => null))?.ok === true, 100, 120_000);
  const signUp = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: baseUrl },
    body: JSON.stringify({ email: "bench@example.test", name: "Bench", password: "correct-horse-battery" }),
  });
  if (!signUp.ok) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
  const cookie = signUp.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const api = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseUrl}/api/trpc`, transformer: superjson, headers: { cookie, origin: baseUrl } })],
  });
  console.log(`    app RSS once ready: ${phaseRss()} MB`);
  const org = await api.organizations.create.mutate({ name: "Bench" });
  const connector = await api.connectors.create.mutate({
    orgId: org.id,
    label: "Local S3",
    provider: "custom",
    endpoint: s3.endpoint,
    region: "us-east-1",
    testBucket: BUCKET,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  });

  /**
   * Attaches (or syncs) and waits until the source is Synced, polling the list once a second as the Sources
   * page does. The time is from the request to the run's recorded end, when the page's next poll shows Synced:
   * polling fast enough to see that at once would put a load on the app that no browser does.
   */
  async function timed(containerId: string, start: () => Promise<{ sourceId: string }>) {
    const requestedAt = new Date();
    const { sourceId } = await start();
    let seenSyncing = false;
    await until(async () => {
      const source = defined(
        (await api.sources.list.query({ containerId })).find((s) => s.id === sourceId),
        `source ${sourceId}`,
      );
      if (source.status === "error") throw new Error(`sync failed: ${source.lastError}`);
      seenSyncing ||= source.status !== "synced";
      return seenSyncing && source.status === "synced";
    }, PAGE_POLL_MS);
    const [run] = await api.sources.runs.query({ containerId, sourceId });
    const finishedAt = defined(run?.finishedAt, `the end of source ${sourceId}'s sync run`);
    return {
      requestedAt,
      seconds: (finishedAt.getTime() - requestedAt.getTime()) / 1000,
      seenAfter: seconds(requestedAt.getTime()),
      run: defined(run, `the sync run of source ${sourceId}`),
      sourceId,
    };
  }

  const docs = await api.containers.create.mutate({ orgId: org.id, name: "Docs", description: "" });
  /** CPU seconds so far: the bench's own (the bare client), the app's, its database's, the S3 server's. */
  const cpuNow = () => {
    const app = cpuSeconds(appPid);
    const bench = process.cpuUsage();
    return {
      client: (bench.user + bench.system) / 1e6,
      app: app.own,
      database: app.postgres,
      s3: cpuSeconds(process.pid).others - app.all,
    };
  };
  const cpuSpent = (before: ReturnType<typeof cpuNow>) => {
    const after = cpuNow();
    return {
      client: after.client - before.client,
      app: after.app - before.app,
      database: after.database - before.database,
      s3: after.s3 - before.s3,
    };
  };
  const backfillCpuBefore = cpuNow();
  const backfill = await timed(docs.id, async () => ({
    sourceId: (
      await api.sources.attach.mutate({
        containerId: docs.id,
        connectorId: connector.id,
        bucket: BUCKET,
        prefix: "docs/",
      })
    ).id,
  }));
  const backfillCpu = cpuSpent(backfillCpuBefore);
  console.log(
    `(d) Wire's backfill of ${OBJECTS} to Ready: ${backfill.seconds.toFixed(1)} s (${JSON.stringify(pick(backfill.run))}), peak RSS ${phaseRss()} MB`,
  );

  const big = await api.containers.create.mutate({ orgId: org.id, name: "Archive", description: "" });
  const bigBackfill = await timed(big.id, async () => ({
    sourceId: (
      await api.sources.attach.mutate({
        containerId: big.id,
        connectorId: connector.id,
        bucket: BUCKET,
        prefix: "list/",
      })
    ).id,
  }));
  console.log(
    `    Wire's backfill of ${LIST}: ${bigBackfill.seconds.toFixed(1)} s (${(LIST / bigBackfill.seconds).toFixed(0)} objects/s), peak RSS ${phaseRss()} MB`,
  );
  const sql = postgres({
    host: "127.0.0.1",
    port: pgPort,
    database: "wire",
    username: "postgres",
    password: fs.readFileSync(path.join(appDir, "secrets", "postgres-password"), "utf8").trim(),
    max: 1,
  });
  // (a) right before (b), both after the vacuum the backfill left due: autovacuum would run it within a
  // minute or two, on whichever of the two happened to be running then. A sync on a cadence finds it done.
  const vacuumStarted = Date.now();
  await sql`vacuum analyze`;
  const vacuumed = seconds(vacuumStarted);
  console.log(`    vacuum analyze after the backfill: ${vacuumed.toFixed(1)} s`);
  // Rows each table had written (inserted, updated, deleted), to count what the no-change syncs write.
  const tableWrites = async () =>
    new Map(
      (
        await sql<{ relname: string; n: number }[]>`
          select relname, (n_tup_ins + n_tup_upd + n_tup_del)::int as n from pg_stat_user_tables`
      ).map((t) => [t.relname, t.n]),
    );
  // An idle connection reports its counts within 10 s (PostgreSQL's idle statistics interval): the backfill's
  // last writes are counted before (b)'s start, (b)'s own before the end; (a) writes nothing.
  const statisticsSettle = () => new Promise((resolve) => setTimeout(resolve, 11_000));
  await statisticsSettle();
  const writesBefore = await tableWrites();
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const listingCpuBefore = cpuNow();
    const listing = await bareListing("list/");
    const listingCpu = cpuSpent(listingCpuBefore);
    const noChangeCpuBefore = cpuNow();
    const noChange = await timed(big.id, async () => {
      await api.sources.syncNow.mutate({ containerId: big.id, sourceId: bigBackfill.sourceId });
      return { sourceId: bigBackfill.sourceId };
    });
    const noChangeCpu = cpuSpent(noChangeCpuBefore);
    const ratio = noChange.seconds / listing.seconds;
    console.log(
      `round ${round}: (a) bare listing of ${listing.count} ${listing.seconds.toFixed(1)} s, (b) Wire's no-change sync ${noChange.seconds.toFixed(1)} s (${JSON.stringify(pick(noChange.run))}), b/a ${ratio.toFixed(2)}, peak RSS ${phaseRss()} MB`,
    );
    rounds.push({ listing, listingCpu, noChange, noChangeCpu, ratio });
  }
  await statisticsSettle();
  const writesAfter = await tableWrites();
  const syncWrites = [...writesAfter]
    .map(([table, n]) => [table, Math.round((n - (writesBefore.get(table) ?? 0)) / ROUNDS)] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
  const byRatio = [...rounds].sort((x, y) => x.ratio - y.ratio);
  const { listing, listingCpu, noChange, noChangeCpu, ratio } = defined(
    byRatio[Math.floor((byRatio.length - 1) / 2)],
    "a round of (a) and (b)",
  );

  const [stepsRow] = await sql<{ max_steps: number; max_state: number; runs: number }[]>`
    select max(step_count)::int as max_steps, max(state_bytes)::int as max_state, count(*)::int as runs from engine_runs`;
  const [databaseRow] = await sql<{ commits: number; written: number; read: number }[]>`
    select xact_commit::int as commits, (tup_inserted + tup_updated + tup_deleted)::int as written, tup_returned::bigint::float8 as read
    from pg_stat_database where datname = current_database()`;
  // Where (b)'s time went: the request to the run's start, each call the engine made, the run's end to the poll.
  const [noChangeRun] = await sql<{ id: string; created_at: Date; started_at: Date; ended_at: Date }[]>`
    select id, created_at, started_at, ended_at from engine_runs
    where function_id like '%sync-source' and created_at >= ${noChange.requestedAt} order by created_at limit 1`;
  const calls = noChangeRun
    ? await sql<{ step_name: string | null; duration_ms: number }[]>`
        select step_name, duration_ms from engine_attempts where run_id = ${noChangeRun.id} order by id`
    : [];
  const steps = defined(stepsRow, "the engine runs' step counts");
  const database = defined(databaseRow, "the database statistics");
  await sql.end();

  const row = (label: string, value: string) => console.log(`  ${label.padEnd(46)} ${value}`);
  console.log(`\nsync benchmark (${os.cpus().length} cores, s3rver on loopback)`);
  row(`(a) bare ListObjectsV2 over ${LIST}`, `${listing.seconds.toFixed(1)} s`);
  row(
    `(b) Wire no-change sync of ${LIST}`,
    `${noChange.seconds.toFixed(1)} s   b/a = ${ratio.toFixed(2)} (goal ≤ 1.1)`,
  );
  if (rounds.length > 1) row(`    b/a of each round (median above)`, rounds.map((r) => r.ratio.toFixed(2)).join(", "));
  if (noChangeRun) {
    const ms = (from: Date, to: Date) => Math.round(to.getTime() - from.getTime());
    const called = calls.reduce((sum, c) => sum + c.duration_ms, 0);
    const between = ms(noChangeRun.started_at, noChangeRun.ended_at) - called;
    row(
      "    (b) where the time went",
      `request → run queued ${ms(noChange.requestedAt, noChangeRun.created_at)} ms, queued → started ${ms(noChangeRun.created_at, noChangeRun.started_at)} ms, ` +
        `${calls.length} calls to the app ${called} ms, engine between calls ${between} ms, ` +
        `sync finished → shown by the page's next poll ${Math.round((noChange.seenAfter - noChange.seconds) * 1000)} ms`,
    );
    row("    (b) calls", calls.map((c) => `${c.step_name ?? "-"} ${c.duration_ms}`).join(", "));
  }
  row(
    "    (b) rows written a sync (all tables)",
    `${syncWrites.reduce((sum, [, n]) => sum + n, 0)}: ${syncWrites.map(([table, n]) => `${table} ${n}`).join(", ")}`,
  );
  const perPage = (cpuSecondsSpent: number) => `${((cpuSecondsSpent * 1000) / (LIST / 1000)).toFixed(1)} ms`;
  row(
    "(a) CPU per page of 1,000 (client + S3 server)",
    `${perPage(listingCpu.client + listingCpu.s3)} (${perPage(listingCpu.client)} + ${perPage(listingCpu.s3)})`,
  );
  row(
    "(b) CPU per page (app + database + S3 server)",
    `${perPage(noChangeCpu.app + noChangeCpu.database + noChangeCpu.s3)} (${perPage(noChangeCpu.app)} + ${perPage(noChangeCpu.database)} + ${perPage(noChangeCpu.s3)})`,
  );
  row(`(c) 32-way GetObject of ${OBJECTS} to disk`, `${download.seconds.toFixed(1)} s`);
  row(
    `(d) Wire backfill of ${OBJECTS} to Ready`,
    `${backfill.seconds.toFixed(1)} s   d/c = ${(backfill.seconds / download.seconds).toFixed(2)} (goal ≤ 1.25)`,
  );
  const perObject = (cpuSecondsSpent: number) => `${((cpuSecondsSpent * 1000) / OBJECTS).toFixed(2)} ms`;
  row(
    "(c) CPU per object (client + S3 server)",
    `${perObject(download.cpu.client + download.cpu.server)} (${perObject(download.cpu.client)} + ${perObject(download.cpu.server)})`,
  );
  row(
    "(d) CPU per object (app + database + S3 server)",
    `${perObject(backfillCpu.app + backfillCpu.database + backfillCpu.s3)} (${perObject(backfillCpu.app)} + ${perObject(backfillCpu.database)} + ${perObject(backfillCpu.s3)})`,
  );
  row("peak app RSS (next start, without PostgreSQL)", `${Math.round(peakRss / 1024 / 1024)} MB (goal ≤ 250)`);
  row("most steps in one engine run", `${steps.max_steps} of ${steps.runs} runs (goal ≤ 300)`);
  row("most run state", `${(steps.max_state / 1024).toFixed(0)} KB`);
  row(
    "database work over the whole bench",
    `${database.commits} transactions, ${database.written} rows written, ${Math.round(database.read)} rows read`,
  );
} finally {
  clearInterval(rssSampler);
  app.kill("SIGTERM");
  await new Promise((resolve) => app.once("exit", resolve));
  admin.destroy();
  await s3.stop();
  // The app's embedded PostgreSQL may still be writing its last files as it stops.
  fs.rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
}
process.exit(0);

function pick(run: {
  listed: number;
  added: number;
  updated: number;
  removed: number;
  processed: number;
  failed: number;
}) {
  return {
    listed: run.listed,
    added: run.added,
    updated: run.updated,
    removed: run.removed,
    processed: run.processed,
    failed: run.failed,
  };
}

async function until(check: () => Promise<boolean>, intervalMs: number, timeoutMs = 3_600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every process as parent → children, read from /proc. */
function processTree(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

/**
 * CPU seconds (user + system, with those of exited children) of the tree under `pid`: `own` without
 * PostgreSQL's processes, `postgres` theirs, `others` the tree without `pid` itself, `all` everything.
 * CPU time, unlike wall time, holds still when the machine is busy with other work.
 */
function cpuSeconds(pid: number) {
  const children = processTree();
  const ticks = 100; // USER_HZ on Linux
  const result = { own: 0, postgres: 0, others: 0, all: 0 };
  const visit = (p: number, isRoot: boolean) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const used = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks;
      if (stat.includes("(postgres)")) result.postgres += used;
      else result.own += used;
      if (!isRoot) result.others += used;
      result.all += used;
    } catch {
      return;
    }
    for (const child of children.get(p) ?? []) visit(child, false);
  };
  visit(pid, true);
  return result;
}

function cpuSince(start: NodeJS.CpuUsage) {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** RSS of the app process and its children, leaving out the embedded PostgreSQL's processes. */
function appRss(pid: number): number {
  const children = processTree();
  let total = 0;
  const visit = (p: number) => {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
      if (/^Name:\s+postgres/m.test(status)) return;
      total += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      return;
    }
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return total;
}
