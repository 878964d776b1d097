/** The engine's own loopback HTTP API, the part of Inngest's API the SDK calls: sync and event ingest. */
import "server-only";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@/server/logger";
import { UnsupportedFeatureError } from "./expressions";
import type { IncomingEvent } from "./ingest";
import { EventRejectedError } from "./limits";
import type { RegisteredConfig } from "./registry";
import { hashedSigningKey, safeEqual } from "./signing";

export interface EngineApiHandlers {
  signingKey: string;
  eventKey: string;
  log: Logger;
  register(appId: string, functions: RegisteredConfig[]): Promise<void>;
  ingest(events: IncomingEvent[], seed: string | null): Promise<string[]>;
}

/** Largest request body read; single events are held to the (smaller) event size limit by ingestion. */
const MAX_BODY = 32 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(Object.assign(new Error("Body too large"), { status: 413 }));
      else chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
      } catch {
        reject(Object.assign(new Error("Body is not JSON"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export function createEngineServer(handlers: EngineApiHandlers): http.Server {
  const expectedBearer = `Bearer ${hashedSigningKey(handlers.signingKey)}`;
  /** The answer to one request, as [status, JSON body]. */
  const answer = async (req: http.IncomingMessage, url: URL): Promise<[number, unknown]> => {
    if (req.method === "POST" && url.pathname === "/fn/register") {
      if (!safeEqual(req.headers.authorization ?? "", expectedBearer)) return [401, { error: "Unauthorized" }];
      const body = (await readBody(req)) as { appName?: string; functions?: RegisteredConfig[] };
      await handlers.register(body.appName ?? "app", body.functions ?? []);
      return [200, { ok: true, modified: true }];
    }
    const eventPath = /^\/e\/([^/]+)$/.exec(url.pathname);
    if (req.method === "POST" && eventPath) {
      if (!safeEqual(decodeURIComponent(eventPath[1] ?? ""), handlers.eventKey))
        return [401, { error: "Event key not found", status: 401 }];
      const body = await readBody(req);
      const events = (Array.isArray(body) ? body : [body]) as IncomingEvent[];
      const ids = await handlers.ingest(events, req.headers["x-inngest-event-id-seed"]?.toString() ?? null);
      return [200, { ids, status: 200 }];
    }
    if (req.method === "GET" && url.pathname === "/health") return [200, { ok: true }];
    return [404, { error: `No route for ${req.method} ${url.pathname}` }];
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://engine");
    try {
      send(res, ...(await answer(req, url)));
    } catch (error) {
      const status =
        error instanceof UnsupportedFeatureError || error instanceof EventRejectedError
          ? 400
          : ((error as { status?: number }).status ?? 500);
      if (status >= 500) handlers.log.error({ err: error, path: url.pathname }, "engine: API request failed");
      send(res, status, { error: (error as Error).message, status });
    }
  };
  // handle answers every error itself.
  return http.createServer((req, res) => void handle(req, res));
}

export function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
