import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseEnv } from "@/server/env";
import { cappedRetryAfter } from "./embed-remote";
import { EmbeddingError, embedderFromEnv, LocalEmbedder, murmur3, OpenAICompatibleEmbedder, tokenize } from "./embed";

const cosine = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i]!, 0);
const norm = (a: number[]) => Math.sqrt(cosine(a, a));

describe("LocalEmbedder", () => {
  const local = new LocalEmbedder();

  it("has a stable model name and 384 dimensions", async () => {
    expect(local.model).toBe("wire-local-hash-v1");
    expect(local.dimensions).toBe(384);
    const [vector] = await local.embed(["Quarterly revenue grew twelve percent"]);
    expect(vector).toHaveLength(384);
  });

  it("is deterministic: the same text gives the identical vector, across instances", async () => {
    const text = "The onboarding guide explains the first week.";
    const [a] = await local.embed([text]);
    const [b] = await new LocalEmbedder().embed([text]);
    expect(a).toEqual(b);
    // Pinned: the hashing must not drift between releases, or stored vectors stop matching queries.
    expect(a!.findIndex((v) => v !== 0)).toBe(local.embedOne(text).findIndex((v) => v !== 0));
    expect(local.embedOne("revenue").filter((v) => v !== 0)).toHaveLength(1);
  });

  // Stored vectors are only comparable with new ones while these stay the same: values computed by the
  // hand-written MurmurHash3 (x86, 32-bit, over UTF-16 code units) that wire-local-hash-v1 shipped with.
  it.each([
    ["revenue", 872233185, 3525847433],
    ["revenue growth", 1234710515, 382644282],
    ["café", 4118771598, 2642020861],
    ["数据", 620598670, 322368522],
    ["😀x", 994812284, 4145576539], // a surrogate pair and an odd code-unit count
    ["a", 1916503821, 29894017],
    ["", 642952553, 2628190328],
  ])("hashes %j as it always has", (text, index, sign) => {
    expect(murmur3(text, 0x5f3759df)).toBe(index);
    expect(murmur3(text, 0x2545f491)).toBe(sign);
  });

  it("gives the vector it always has", () => {
    const vector = local.embedOne("Quarterly revenue grew 12 % — café 数据 😀");
    expect(vector.flatMap((v, i) => (v === 0 ? [] : [[i, v]]))).toEqual([
      [20, 0.32879796624183655],
      [21, -0.32879796624183655],
      [66, 0.16439898312091827],
      [95, -0.16439898312091827],
      [142, -0.32879796624183655],
      [200, 0.16439898312091827],
      [215, -0.16439898312091827],
      [225, 0.32879796624183655],
      [258, -0.16439898312091827],
      [270, 0.6575959324836731],
    ]);
  });

  it("returns L2-normalized vectors (and zeros for text without words)", async () => {
    const vectors = await local.embed([
      "short",
      "A much longer text with many different words, repeated words words words.",
      "数据 分析 报告",
    ]);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
    const [empty] = await local.embed(["  ... !!! "]);
    expect(empty!.every((v) => v === 0)).toBe(true);
  });

  it("ignores case, punctuation and Unicode forms", async () => {
    const [a, b] = await local.embed(["Revenue, GROWTH; café!", "revenue growth cafe\u0301"]);
    expect(a).toEqual(b);
  });

  it("puts similar texts closer than dissimilar ones", async () => {
    const [base, similar, dissimilar] = await local.embed([
      "Quarterly revenue grew by twelve percent thanks to strong enterprise sales.",
      "Enterprise sales were strong, and quarterly revenue grew twelve percent.",
      "The cafeteria will serve vegetarian lasagna on Friday afternoon.",
    ]);
    const near = cosine(base!, similar!);
    const far = cosine(base!, dissimilar!);
    expect(near).toBeGreaterThan(0.6);
    expect(Math.abs(far)).toBeLessThan(0.25);
    expect(near).toBeGreaterThan(far + 0.4);
  });

  it("tokenizes into lowercase words without stopwords (unless that leaves nothing)", () => {
    expect(tokenize("The Cat's hat, and 42 dogs")).toEqual(["cat", "s", "hat", "42", "dogs"]);
    expect(tokenize("to be or not to be")).toEqual(["to", "be", "or", "not", "to", "be"]);
  });

  it("embeds many texts in order", async () => {
    const texts = Array.from({ length: 600 }, (_, i) => `entry number ${i}`);
    const vectors = await local.embed(texts);
    expect(vectors).toHaveLength(600);
    expect(vectors[599]).toEqual(local.embedOne("entry number 599"));
  });
});

describe("OpenAICompatibleEmbedder", () => {
  type Seen = {
    url: string;
    authorization: string | undefined;
    body: { model: string; input: string[]; dimensions?: number };
  };
  let server: http.Server;
  let baseUrl: string;
  let seen: Seen[];
  /** What the next requests answer; default: 8-dimensional vectors derived from each input. */
  type Answer = { status: number; body: string; headers?: Record<string, string> };
  let responders: ((seen: Seen) => Answer)[];

  const vectorFor = (text: string, dims = 8) => Array.from({ length: dims }, (_, i) => (text.length + i) / 100);
  const ok = (s: Seen, dims = 8): Answer => ({
    status: 200,
    body: JSON.stringify({
      object: "list",
      model: s.body.model,
      // Out of order on purpose: clients must use `index`.
      data: s.body.input
        .map((text, index) => ({ object: "embedding", index, embedding: vectorFor(text, dims) }))
        .reverse(),
    }),
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      req.on("end", () => {
        const entry: Seen = {
          url: req.url ?? "",
          authorization: req.headers.authorization,
          body: JSON.parse(raw) as Seen["body"],
        };
        seen.push(entry);
        const answer = (responders.shift() ?? ok)(entry);
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    seen = [];
    responders = [];
  });

  const make = (options: Partial<ConstructorParameters<typeof OpenAICompatibleEmbedder>[0]> = {}) =>
    new OpenAICompatibleEmbedder({ url: baseUrl, model: "test-embed", apiKey: "sk-test-secret-123", ...options });

  it("posts to <url>/embeddings with the model, inputs and Bearer key, and returns vectors in input order", async () => {
    const embedder = make();
    const vectors = await embedder.embed(["a", "bb", "ccc"]);
    expect(vectors).toEqual([vectorFor("a"), vectorFor("bb"), vectorFor("ccc")]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/v1/embeddings");
    expect(seen[0]!.authorization).toBe("Bearer sk-test-secret-123");
    expect(seen[0]!.body).toMatchObject({ model: "test-embed", input: ["a", "bb", "ccc"] });
    expect(seen[0]!.body.dimensions).toBeUndefined();
    expect(embedder.model).toBe("test-embed");
    expect(embedder.dimensions).toBe(8);
  });

  it("sends no Authorization header without a key", async () => {
    await make({ apiKey: undefined }).embed(["x"]);
    expect(seen[0]!.authorization).toBeUndefined();
  });

  it("batches at most 64 inputs per request and keeps the order", async () => {
    const texts = Array.from({ length: 150 }, (_, i) => "t".repeat(i + 1));
    const vectors = await make({ batchSize: 500 }).embed(texts);
    expect(seen.map((s) => s.body.input.length)).toEqual([64, 64, 22]);
    expect(vectors).toEqual(texts.map((t) => vectorFor(t)));
    await make({ batchSize: 10 }).embed(texts.slice(0, 25));
    expect(seen.slice(3).map((s) => s.body.input.length)).toEqual([10, 10, 5]);
  });

  it("makes no request for no texts", async () => {
    expect(await make().embed([])).toEqual([]);
    expect(seen).toHaveLength(0);
  });

  it("maps an error answer to its status and message, never the key", async () => {
    responders.push(() => ({
      status: 401,
      body: JSON.stringify({
        error: { message: "Incorrect API key provided: sk-test-secret-123", type: "invalid_request_error" },
      }),
    }));
    const error = await make()
      .embed(["x"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddingError);
    expect((error as EmbeddingError).status).toBe(401);
    expect((error as Error).message).toBe(
      "The embeddings service answered 401 Unauthorized: Incorrect API key provided: [redacted]",
    );
    expect(seen).toHaveLength(1); // 4xx is not retried
  });

  it("uses a top-level message (vLLM's error format)", async () => {
    responders.push(() => ({
      status: 400,
      body: JSON.stringify({ object: "error", message: "input too long", code: 400 }),
    }));
    await expect(make().embed(["x"])).rejects.toThrow(
      "The embeddings service answered 400 Bad Request: input too long",
    );
  });

  it("ignores OPENAI_* settings in the environment", async () => {
    const saved = { key: process.env.OPENAI_API_KEY, org: process.env.OPENAI_ORG_ID };
    process.env.OPENAI_API_KEY = "sk-from-env";
    process.env.OPENAI_ORG_ID = "org-from-env";
    try {
      await make({ apiKey: undefined }).embed(["x"]);
    } finally {
      for (const [name, value] of [
        ["OPENAI_API_KEY", saved.key],
        ["OPENAI_ORG_ID", saved.org],
      ] as const) {
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- process.env is a map by name; an unset variable is a deleted key
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(seen[0]!.authorization).toBeUndefined();
  });

  it("caps a Retry-After the SDK would sleep through at 30 s", async () => {
    responders.push(() => ({ status: 429, body: "{}", headers: { "retry-after": "3600" } }));
    const capped = await cappedRetryAfter(`${baseUrl}embeddings`, {
      method: "POST",
      body: JSON.stringify({ input: [] }),
    });
    expect(capped.status).toBe(429);
    expect(capped.headers.get("retry-after")).toBe("30");
    const untouched = await cappedRetryAfter(`${baseUrl}embeddings`, {
      method: "POST",
      body: JSON.stringify({ model: "m", input: ["x"] }),
    });
    expect(untouched.headers.get("retry-after")).toBeNull();
  });

  it("uses the start of a non-JSON error body", async () => {
    responders.push(() => ({ status: 400, body: "<html>bad request</html>" }));
    await expect(make().embed(["x"])).rejects.toThrow(
      "The embeddings service answered 400 Bad Request: <html>bad request</html>",
    );
  });

  it("retries 429 and 5xx answers, then succeeds", async () => {
    responders.push(
      () => ({ status: 503, body: "overloaded" }),
      () => ({
        status: 429,
        body: JSON.stringify({ error: { message: "slow down" } }),
        headers: { "retry-after": "0" },
      }),
    );
    expect(await make().embed(["x"])).toEqual([vectorFor("x")]);
    expect(seen).toHaveLength(3);
  });

  it("gives up after the retries with the last error", async () => {
    responders.push(
      ...Array.from({ length: 3 }, () => () => ({ status: 500, body: JSON.stringify({ error: "internal" }) })),
    );
    await expect(make({ maxRetries: 2 }).embed(["x"])).rejects.toThrow(
      "The embeddings service answered 500 Internal Server Error: internal",
    );
    expect(seen).toHaveLength(3);
  });

  it("rejects answers of the wrong shape", async () => {
    responders.push((s) => ({
      status: 200,
      body: JSON.stringify({ data: [{ index: 0, embedding: vectorFor(s.body.input[0]!) }] }),
    }));
    await expect(make().embed(["a", "b"])).rejects.toThrow(
      "The embeddings service returned 1 embeddings for 2 inputs.",
    );
    responders.push(() => ({ status: 200, body: "not json" }));
    await expect(make().embed(["a"])).rejects.toThrow("not JSON");
    responders.push(() => ({ status: 200, body: JSON.stringify({ data: [{ index: 0, embedding: "base64stuff" }] }) }));
    await expect(make().embed(["a"])).rejects.toThrow("not a list of numbers");
  });

  it("sends configured dimensions and checks every vector against them", async () => {
    responders.push((s) => ok(s, 8));
    const error = await make({ dimensions: 16 })
      .embed(["a"])
      .catch((e: unknown) => e);
    expect(seen[0]!.body.dimensions).toBe(16);
    expect((error as Error).message).toBe("The embeddings service returned vectors of 8 dimensions; 16 were expected.");
  });

  it("reports a service that cannot be reached", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const embedder = new OpenAICompatibleEmbedder({
      url: `http://127.0.0.1:${port}`,
      model: "m",
      apiKey: "sk-hidden",
      maxRetries: 0,
    });
    const error = await embedder.embed(["x"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddingError);
    expect((error as Error).message).toBe("The embeddings service could not be reached (ECONNREFUSED).");
  });

  it("times out a service that does not answer", async () => {
    const hanging = http.createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    try {
      const port = (hanging.address() as AddressInfo).port;
      const embedder = new OpenAICompatibleEmbedder({
        url: `http://127.0.0.1:${port}`,
        model: "m",
        timeoutMs: 200,
        maxRetries: 0,
      });
      await expect(embedder.embed(["x"])).rejects.toThrow("The embeddings service did not answer within 0.2 s.");
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});

describe("embedderFromEnv", () => {
  it("is local by default and with only half of the remote settings", () => {
    expect(embedderFromEnv(parseEnv({}))).toBeInstanceOf(LocalEmbedder);
    expect(embedderFromEnv(parseEnv({ WIRE_EMBEDDINGS_URL: "https://api.example.com/v1" }))).toBeInstanceOf(
      LocalEmbedder,
    );
    expect(embedderFromEnv(parseEnv({ WIRE_EMBEDDINGS_MODEL: "text-embedding-3-small" }))).toBeInstanceOf(
      LocalEmbedder,
    );
  });

  it("is OpenAI-compatible when the URL and the model are set", () => {
    const remote = embedderFromEnv(
      parseEnv({
        WIRE_EMBEDDINGS_URL: "https://api.example.com/v1",
        WIRE_EMBEDDINGS_MODEL: "text-embedding-3-small",
        WIRE_EMBEDDINGS_DIMENSIONS: "256",
      }),
    );
    expect(remote).toBeInstanceOf(OpenAICompatibleEmbedder);
    expect(remote.model).toBe("text-embedding-3-small");
    expect(remote.dimensions).toBe(256);
  });

  it.each([
    ["WIRE_EMBEDDINGS_URL", "not a url"],
    ["WIRE_EMBEDDINGS_URL", "ftp://example.com"],
    ["WIRE_EMBEDDINGS_DIMENSIONS", "zero"],
    ["WIRE_EMBEDDINGS_TIMEOUT_MS", "10"],
  ])("rejects a bad %s, naming it", (name, value) => {
    expect(() => parseEnv({ [name]: value })).toThrow(new RegExp(name));
  });
});
