import http from "node:http";

/** Serves Next-style route handlers from a plain Node HTTP server. */
export function serveRoute(handlers: Record<string, (req: Request) => Promise<Response>>): http.Server {
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const handler = handlers[req.method ?? "GET"];
    const response = handler ? await handler(request) : new Response("Method not allowed", { status: 405 });
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    res.end(Buffer.from(await response.arrayBuffer()));
  };
  return http.createServer((req, res) => void handle(req, res));
}
