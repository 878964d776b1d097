/**
 * What this process's HTTP servers do with every request before any listener (Next's included) sees it:
 * - record the socket's peer address in PEER_HEADER, replacing a value sent by the client (route handlers
 *   under `next start` cannot see the socket; server/client-address.ts reads this);
 * - answer 400 to a path with malformed percent-encoding, which Next's router would answer with a bare 500.
 * Installed once at start (instrumentation.ts), before the first request is handled.
 */
import http from "node:http";
import https from "node:https";

export const PEER_HEADER = "x-wire-peer-address";

const installed = Symbol.for("wire.serverHooks");
const holder = globalThis as unknown as Record<symbol, boolean | undefined>;

export function serverHooksInstalled(): boolean {
  return holder[installed] === true;
}

function hasMalformedPath(url: string | undefined): boolean {
  const [path = ""] = (url ?? "/").split("?");
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

/** Runs on every request; true when it answered the request itself. */
function beforeNext(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  // This runs for every server in the process; a request's socket is typed as always there, but Node nulls it once
  // the connection is done with, so do not count on it.
  const peer = (req.socket as http.IncomingMessage["socket"] | null)?.remoteAddress;
  if (peer) req.headers[PEER_HEADER] = peer;
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- headers are a map by name; a key set to undefined would still be listed
  else delete req.headers[PEER_HEADER];
  if (hasMalformedPath(req.url)) {
    res.writeHead(400, { "content-type": "application/json", "x-content-type-options": "nosniff" });
    res.end(JSON.stringify({ error: { code: "BAD_REQUEST", message: "The path is not valid percent-encoding." } }));
    return true;
  }
  return false;
}

export function installServerHooks(): void {
  if (serverHooksInstalled()) return;
  for (const Server of [http.Server, https.Server]) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with the server as `this` (emit.call below)
    const emit = Server.prototype.emit as (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
    Server.prototype.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event === "request" && beforeNext(args[0] as http.IncomingMessage, args[1] as http.ServerResponse))
        return true;
      return emit.call(this, event, ...args);
    } as typeof Server.prototype.emit;
  }
  holder[installed] = true;
}
