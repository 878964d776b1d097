/**
 * An HTTP proxy in front of a real S3 server that answers chosen requests with an S3 error instead of
 * forwarding them (an object-level deny, an archived object, a credential failure), or never answers them
 * (a hung endpoint: the connection is accepted and then nothing), or cut off after some bytes of the body (a
 * dropped connection mid-download), or stalled after some bytes (a download in flight for as long as a test
 * needs, e.g. to kill the process mid-write), for tests of how Wire sorts S3 failures.
 * Everything else reaches the server untouched, signature and all.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface S3Fault {
  status: number;
  code: string;
  message: string;
}

export async function startFaultProxy(
  target: string,
  faultFor: (request: {
    method: string;
    path: string;
    query: URLSearchParams;
  }) => S3Fault | "hang" | { cutAfterBytes: number } | { stallAfterBytes: number } | null,
) {
  const upstream = new URL(target);
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const fault = faultFor({
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
    });
    if (fault === "hang") {
      req.resume();
      hung.add(res);
      res.on("close", () => hung.delete(res));
      return;
    }
    if (fault && "status" in fault) {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${fault.message}</Message><RequestId>fault-proxy</RequestId></Error>`,
      );
      return;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!fault) {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        const limit = "cutAfterBytes" in fault ? fault.cutAfterBytes : fault.stallAfterBytes;
        answer.on("data", (chunk: Buffer) => {
          if (res.destroyed) return;
          res.write(chunk);
          sent += chunk.length;
          if (sent < limit) return;
          if ("cutAfterBytes" in fault) {
            res.destroy();
            answer.destroy();
            return;
          }
          answer.pause(); // the rest never comes, until the client goes or the proxy closes
          hung.add(res);
          res.on("close", () => {
            hung.delete(res);
            answer.destroy();
          });
        });
        answer.on("end", () => res.end());
      },
    );
    forwarded.on("error", () => res.destroy());
    req.pipe(forwarded);
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** TCP connections clients opened to the proxy so far. */
    connections: () => connections,
    /** Drops the hanging requests' connections, as a server coming back after a restart would. */
    dropHanging: () => {
      for (const res of hung) res.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
