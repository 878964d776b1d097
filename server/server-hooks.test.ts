/** The hooks every request passes before Next: a real HTTP server of this process with them installed. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { installServerHooks, PEER_HEADER } from "./server-hooks";

installServerHooks();

let server: http.Server;
let base: string;
beforeAll(async () => {
  // Stands in for Next: echoes the peer header it was handed, and fails on a path it cannot decode.
  server = http.createServer((req, res) => {
    try {
      decodeURIComponent(req.url!.split("?")[0]!);
      res.end(String(req.headers[PEER_HEADER]));
    } catch {
      res.writeHead(500).end("Internal Server Error");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it("answers 400 to a path with malformed percent-encoding before the app sees it", async () => {
  for (const path of ["/api/v1/containers/x/files/bad%E0%A4%A.md", "/o/%zz/containers", "/%"]) {
    const res = await fetch(`${base}${path}`);
    expect(res.status, path).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
  }
  expect((await fetch(`${base}/api/v1/containers/x/files/good%20name.md?q=%zz`)).status).toBe(200);
});

it("hands the app the socket's address, not the one the client sent", async () => {
  const res = await fetch(`${base}/`, { headers: { [PEER_HEADER]: "203.0.113.5" } });
  expect(await res.text()).toBe("127.0.0.1");
});
