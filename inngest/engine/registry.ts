/**
 * Function registration: the configs the SDK syncs are checked against what this engine supports,
 * compiled into the form the engine executes, and stored (with cron schedules) in Postgres.
 * The URL in a registration is never used: each engine calls the app URL of its own configuration, so a
 * registration (forged, or from another process) cannot move where work is sent.
 */
import "server-only";
import { Cron } from "croner";
import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { engineFunctions, engineSchedules } from "@/db/schema";
import { parseDurationMs } from "./durations";
import {
  parseEventFilter,
  parseEventMatch,
  UnsupportedFeatureError,
  type EventFilter,
  type EventMatch,
} from "./expressions";
import { defined } from "@/server/defined";

/** A function config as the app's registration request sent it: JSON, so the checks below assume little. */
export interface RegisteredConfig {
  id: string;
  name?: string;
  triggers?: ({ event: string; expression?: string } | { cron: string })[];
  steps?: Record<string, { runtime?: { type: string; url?: string }; retries?: { attempts?: number } }>;
  concurrency?: unknown;
  cancel?: { event: string; if?: string; timeout?: string }[];
  [key: string]: unknown;
}

export interface CompiledFunction {
  id: string;
  name: string;
  maxAttempts: number;
  triggers: { event: string; filter: EventFilter | null }[];
  crons: string[];
  concurrency: { limit: number; keyPath: string | null } | null;
  cancel: { event: string; match: EventMatch | null; timeoutMs: number | null }[];
}

/** Flow control this engine does not implement; registering a function that uses one fails loudly. */
const UNSUPPORTED = [
  "rateLimit",
  "throttle",
  "debounce",
  "batchEvents",
  "priority",
  "idempotency",
  "singleton",
  "timeouts",
];
const DEFAULT_RETRIES = 4;

export function compileFunction(config: RegisteredConfig): CompiledFunction {
  const fail = (what: string) => new UnsupportedFeatureError(`Function "${config.id}": ${what}`);
  for (const key of UNSUPPORTED) {
    if (config[key] !== undefined && config[key] !== null)
      throw fail(`"${key}" is not supported by the embedded engine; use Inngest for it.`);
  }
  const step = config.steps?.step;
  if (!step || step.runtime?.type !== "http") throw fail("no HTTP step runtime in its registration.");

  const triggers: CompiledFunction["triggers"] = [];
  const crons: string[] = [];
  for (const trigger of config.triggers ?? []) {
    if ("cron" in trigger) {
      try {
        const { pattern, timezone } = cronPattern(trigger.cron);
        new Cron(pattern, { timezone });
      } catch (error) {
        throw fail(`invalid cron "${trigger.cron}": ${(error as Error).message}`);
      }
      crons.push(trigger.cron);
    } else {
      const { expression } = trigger;
      triggers.push({
        event: trigger.event,
        filter: expression ? wrap(fail, () => parseEventFilter(expression)) : null,
      });
    }
  }
  if (crons.length > 1) throw fail("more than one cron trigger is not supported.");

  return {
    id: config.id,
    name: config.name ?? config.id,
    maxAttempts: (step.retries?.attempts ?? DEFAULT_RETRIES) + 1,
    triggers,
    crons,
    concurrency: compileConcurrency(config.concurrency, fail),
    cancel: (config.cancel ?? []).map(({ event, if: expression, timeout }) => ({
      event,
      match: expression ? wrap(fail, () => parseEventMatch(expression)) : null,
      timeoutMs: timeout ? parseDurationMs(timeout) : null,
    })),
  };
}

function wrap<T>(fail: (what: string) => Error, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw fail((error as Error).message);
  }
}

function compileConcurrency(raw: unknown, fail: (what: string) => Error): CompiledFunction["concurrency"] {
  if (raw === undefined || raw === null) return null;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length !== 1) throw fail("only one concurrency limit is supported.");
  const item = list[0] as number | { limit: number; key?: string; scope?: string };
  if (typeof item === "number") return { limit: item, keyPath: null };
  if (item.scope && item.scope !== "fn") throw fail(`concurrency scope "${item.scope}" is not supported (only "fn").`);
  if (!item.key) return { limit: item.limit, keyPath: null };
  const m = /^\s*event\.([A-Za-z_][A-Za-z0-9_.]*)\s*$/.exec(item.key);
  if (!m) throw fail(`concurrency key "${item.key}" is not supported (only event.<path>).`);
  return { limit: item.limit, keyPath: defined(m[1], "the concurrency key's path") };
}

/** Splits the optional "TZ=Area/City " prefix that Inngest cron strings may carry. */
export function cronPattern(cron: string): { pattern: string; timezone: string | undefined } {
  const m = /^TZ=(\S+)\s+(.*)$/.exec(cron.trim());
  return m
    ? { pattern: defined(m[2], "the cron pattern after TZ="), timezone: m[1] }
    : { pattern: cron.trim(), timezone: undefined };
}

export function nextCronTime(cron: string, after = new Date()): Date {
  const { pattern, timezone } = cronPattern(cron);
  const next = new Cron(pattern, { timezone }).nextRun(after);
  if (!next) throw new Error(`Cron "${cron}" never fires`);
  return next;
}

export const FUNCTIONS_CHANNEL = "wire_engine_functions";

/** Replaces the app's registered functions. Every config is compiled first: one bad function rejects the sync. */
export async function registerFunctions(
  db: Database,
  appId: string,
  configs: RegisteredConfig[],
): Promise<CompiledFunction[]> {
  const compiled = configs.map(compileFunction);
  await db.transaction(async (tx) => {
    const ids = configs.map((c) => c.id);
    await tx
      .delete(engineFunctions)
      .where(and(eq(engineFunctions.appId, appId), ids.length ? notInArray(engineFunctions.id, ids) : undefined));
    for (const config of configs) {
      const values = { id: config.id, appId, name: config.name ?? config.id, config, updatedAt: new Date() };
      await tx.insert(engineFunctions).values(values).onConflictDoUpdate({ target: engineFunctions.id, set: values });
    }
    // Schedules: keep the next fire time of an unchanged cron, (re)compute changed ones, drop removed ones.
    const existing = await tx.select().from(engineSchedules);
    const wanted = new Map(compiled.flatMap((f) => (f.crons[0] === undefined ? [] : [[f.id, f.crons[0]] as const])));
    const stale = existing.filter((s) => wanted.get(s.functionId) !== s.cron).map((s) => s.functionId);
    if (stale.length) await tx.delete(engineSchedules).where(inArray(engineSchedules.functionId, stale));
    for (const [functionId, cron] of wanted) {
      await tx
        .insert(engineSchedules)
        .values({ functionId, cron, nextAt: nextCronTime(cron) })
        .onConflictDoNothing();
    }
    // Every process's cache of compiled functions is stale now.
    await tx.execute(sql`select pg_notify(${FUNCTIONS_CHANNEL}, '')`);
  });
  return compiled;
}

/**
 * Compiled functions of one engine, read from the database once and dropped whenever any process
 * registers (FUNCTIONS_CHANNEL), so a job does not recompile its function's config every time.
 */
export class FunctionCache {
  private byId: Map<string, CompiledFunction> | null = null;

  constructor(private readonly db: DbOrTx) {}

  invalidate() {
    this.byId = null;
  }

  async all(): Promise<CompiledFunction[]> {
    if (!this.byId) {
      const loaded = await loadFunctions(this.db);
      this.byId = new Map(loaded.map((f) => [f.id, f]));
    }
    return [...this.byId.values()];
  }

  async get(id: string): Promise<CompiledFunction | null> {
    await this.all();
    return this.byId?.get(id) ?? null;
  }
}

export async function loadFunctions(db: DbOrTx): Promise<CompiledFunction[]> {
  const rows = await db.select({ config: engineFunctions.config }).from(engineFunctions);
  return rows.map((r) => compileFunction(r.config as RegisteredConfig));
}

export async function loadFunction(db: DbOrTx, id: string): Promise<CompiledFunction | null> {
  const [row] = await db
    .select({ config: engineFunctions.config })
    .from(engineFunctions)
    .where(eq(engineFunctions.id, id));
  return row ? compileFunction(row.config as RegisteredConfig) : null;
}
