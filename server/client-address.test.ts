/**
 * Rate limiting and session addresses key on the real client address: the auth route behind a real HTTP
 * server in this process (with the same socket hook instrumentation.ts installs), attacked with a new
 * X-Forwarded-For (and forged internal headers) on every request.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/auth/[...all]/route";
import { getDb } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { getAuth } from "./auth";
import { CLIENT_HEADER, clientAddress, PEER_HEADER, parseTrustedProxies } from "./client-address";
import { installServerHooks } from "./server-hooks";
import { uniqueEmail } from "./test/factories";

installServerHooks();

let server: http.Server;
let base: string;

beforeAll(async () => {
  // The smallest Node server that hands requests to the route the way Next does: headers from req.headers.
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
    const response = await POST(
      new Request(`${base}${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  };
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function post(path: string, body: unknown, spoof: string) {
  return fetch(`${base}/api/auth${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: base,
      "x-forwarded-for": spoof,
      [PEER_HEADER]: spoof,
      [CLIENT_HEADER]: spoof,
    },
    body: JSON.stringify(body),
  });
}

describe("sign-in rate limiting", () => {
  it("throttles 30 wrong passwords sent with a new X-Forwarded-For each", async () => {
    const email = uniqueEmail("victim");
    await getAuth().api.signUpEmail({ body: { email, password: "the right password", name: "Victim" } });

    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await post("/sign-in/email", { email, password: `wrong guess ${i}` }, `198.51.100.${i + 1}`);
      statuses.push(res.status);
    }
    const throttled = statuses.filter((s) => s === 429).length;
    // better-auth allows 3 sign-in attempts per 10 s per address: everything after them is refused.
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(throttled).toBe(27);
  });

  it("stores the socket address on the session, not the one the client claims", async () => {
    const email = uniqueEmail("session");
    const res = await post("/sign-up/email", { email, password: "a fine password", name: "Session" }, "203.0.113.77");
    expect(res.status).toBe(200);
    const [row] = await getDb()
      .select({ ip: sessions.ipAddress })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(users.email, email));
    expect(row?.ip).toBe("127.0.0.1");
  });
});

describe("clientAddress", () => {
  const headers = (peer: string, forwarded?: string) =>
    new Headers({ [PEER_HEADER]: peer, ...(forwarded ? { "x-forwarded-for": forwarded } : {}) });

  it("is the socket peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddress(headers("10.0.0.5", "1.2.3.4"), [])).toBe("10.0.0.5");
    expect(clientAddress(headers("::ffff:127.0.0.1", "1.2.3.4"), [])).toBe("127.0.0.1");
  });

  it("walks X-Forwarded-For from the right past trusted proxies only", () => {
    const trusted = parseTrustedProxies("10.0.0.0/8, 192.0.2.1");
    expect(clientAddress(headers("10.0.0.5", "1.2.3.4, 192.0.2.1"), trusted)).toBe("1.2.3.4");
    // The client prepends a fake entry: the proxy appended the real one after it.
    expect(clientAddress(headers("10.0.0.5", "6.6.6.6, 5.5.5.5"), trusted)).toBe("5.5.5.5");
    // A peer that is not a trusted proxy is the client.
    expect(clientAddress(headers("8.8.8.8", "1.2.3.4"), trusted)).toBe("8.8.8.8");
    // Garbage from beyond the last trusted hop: the hop itself is the answer.
    expect(clientAddress(headers("10.0.0.5", "not-an-ip, 192.0.2.1"), trusted)).toBe("192.0.2.1");
  });

  it("refuses bad WIRE_TRUSTED_PROXIES entries by name", () => {
    expect(() => parseTrustedProxies("10.0.0.0/8, proxy.local")).toThrow(/proxy\.local/);
    expect(() => parseTrustedProxies("10.0.0.0/33")).toThrow(/10\.0\.0\.0\/33/);
    expect(parseTrustedProxies(" ")).toEqual([]);
  });
});
