/**
 * Crash tests run the app's background half in a child process they can SIGKILL: the child serves its
 * functions with the /api/inngest handler and runs the embedded engine; the parent waits for "ready".
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Inngest, InngestFunction } from "inngest";
import postgres from "postgres";
import { logger } from "@/server/logger";
import { inngestHandlers } from "../../serve";
import { startEngine } from "..";
import { listen } from "../server";
import { serveRoute } from "./serve-route";

/** In the child: serve `functions` on `appPort`, start the engine, print "ready" once they are registered. */
export async function serveWithEngine(params: {
  functions: InngestFunction.Any[];
  client?: Inngest.Any;
  databaseUrl: string;
  enginePort: number;
  appPort: number;
  keys: { signingKey: string; eventKey: string };
  workers?: number;
  leaseMs?: number;
}) {
  const lockSql = postgres(params.databaseUrl, { max: 1, onnotice: () => {} });
  await listen(
    serveRoute(inngestHandlers(params.functions, { client: params.client, lockDatabase: () => lockSql }) as never),
    params.appPort,
  );
  const engine = await startEngine({
    databaseUrl: params.databaseUrl,
    port: params.enginePort,
    appUrl: `http://127.0.0.1:${params.appPort}/api/inngest`,
    ...params.keys,
    workers: params.workers ?? 2,
    leaseMs: params.leaseMs,
    backoffBaseMs: 50,
    requestTimeoutMs: 30_000,
    log: logger,
  });
  while (!engine.state.ready) await new Promise((r) => setTimeout(r, 20));
  process.stdout.write("ready\n");
}

/** In the parent: start `script` with `env`, resolved once it prints "ready". */
export function spawnReadyChild(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      if (process.env.LOG_LEVEL) process.stderr.write(chunk); // the child's logs, when asked for
      if (chunk.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${script} exited early with ${code}`)));
  });
}
