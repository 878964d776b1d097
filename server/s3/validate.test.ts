/**
 * Integration tests against the real s3rver HTTP server started by server/test/global-setup.ts.
 */
import net from "node:net";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createS3Client, onS3Request, type S3RequestRecord } from "@/server/s3/client";
import { S3AccessError } from "@/server/s3/errors";
import { checkBucketAccess, validateConnection } from "@/server/s3/validate";
import { startFaultProxy } from "@/server/test/s3-fault-proxy";

const endpoint = inject("s3Endpoint");
const bucket = inject("s3Bucket");
const port = Number(new URL(endpoint).port);
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const base = { endpoint, region: "us-east-1", credentials, bucket };

async function failure(promise: Promise<unknown>): Promise<S3AccessError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(S3AccessError);
  return error as S3AccessError;
}

let unsubscribe: (() => void) | undefined;
afterEach(() => unsubscribe?.());
function recordRequests(): S3RequestRecord[] {
  const log: S3RequestRecord[] = [];
  unsubscribe = onS3Request((r) => log.push(r));
  return log;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

describe("validateConnection against s3rver", () => {
  it("succeeds for a readable bucket, with and without a prefix", async () => {
    await expect(validateConnection({ ...base, prefix: "reports/2026/" })).resolves.toBeUndefined();
    await expect(validateConnection(base)).resolves.toBeUndefined();
    // host:port without a scheme is normalized (http:// given explicitly here since s3rver has no TLS)
    await expect(validateConnection({ ...base, endpoint: `http://127.0.0.1:${port}/` })).resolves.toBeUndefined();
  });

  it("sends only HeadBucket, then ListObjectsV2 with the prefix and MaxKeys 1", async () => {
    const log = recordRequests();
    await validateConnection({ ...base, prefix: "reports/2026/" });
    expect(log).toEqual([
      { operation: "HeadBucket", method: "HEAD", host: "127.0.0.1", bucket },
      {
        operation: "ListObjectsV2",
        method: "GET",
        host: "127.0.0.1",
        bucket,
        prefix: "reports/2026/",
        maxKeys: 1,
      },
    ]);
    const mutating = log.filter((r) => !["GET", "HEAD"].includes(r.method));
    expect(mutating).toEqual([]);
  });

  it("lists with an empty prefix when none is given", async () => {
    const log = recordRequests();
    await validateConnection(base);
    expect(log.map((r) => [r.operation, r.prefix, r.maxKeys])).toEqual([
      ["HeadBucket", undefined, undefined],
      ["ListObjectsV2", "", 1],
    ]);
  });

  it("reports a missing bucket as bucket_not_found on the test bucket field", async () => {
    const error = await failure(validateConnection({ ...base, bucket: "no-such-bucket" }));
    expect(error).toMatchObject({ kind: "bucket_not_found", field: "testBucket" });
    expect(error.message).toBe(
      `The bucket "no-such-bucket" does not exist at ${endpoint}. Check the bucket name and endpoint.`,
    );
  });

  it("reports an unknown access key as invalid_credentials (HeadBucket's bodiless 403 is not the verdict)", async () => {
    const log = recordRequests();
    const error = await failure(
      validateConnection({ ...base, credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x/y+z" } }),
    );
    expect(error).toMatchObject({
      kind: "invalid_credentials",
      field: "accessKeyId",
      detail: { code: "InvalidAccessKeyId", httpStatusCode: 403 },
    });
    expect(error.message).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(JSON.stringify(error)).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(log.map((r) => r.operation)).toEqual(["HeadBucket", "ListObjectsV2"]);
  });

  it("reports a closed port as endpoint_unreachable (after the standard 3 attempts)", async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const log = recordRequests();
    const error = await failure(validateConnection({ ...base, endpoint: closed }));
    expect(error).toMatchObject({ kind: "endpoint_unreachable", field: "endpoint" });
    expect(error.message).toBe(
      `${closed} could not be reached (ECONNREFUSED). Check the endpoint's host and port, and that the server is running.`,
    );
    expect(log.map((r) => r.operation)).toEqual(["HeadBucket", "HeadBucket", "HeadBucket"]);
  });

  it("reports https against a plain-HTTP server as a TLS error", async () => {
    const error = await failure(validateConnection({ ...base, endpoint: `https://127.0.0.1:${port}` }));
    expect(error).toMatchObject({ kind: "tls_error", field: "endpoint" });
    expect(error.message).toContain("did not answer with TLS");
  });

  it("refuses a private endpoint when WIRE_ALLOW_PRIVATE_ENDPOINTS is false, before sending anything", async () => {
    const log = recordRequests();
    for (const e of [endpoint, `localhost:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
      const error = await failure(validateConnection({ ...base, endpoint: e }, { allowPrivateEndpoints: false }));
      expect(error, e).toMatchObject({ kind: "endpoint_not_allowed", field: "endpoint" });
      expect(error.message).toContain("loopback address");
    }
    expect(log).toEqual([]);
  });

  it("allows the private endpoint when WIRE_ALLOW_PRIVATE_ENDPOINTS is true (explicitly and from the env)", async () => {
    await expect(validateConnection(base, { allowPrivateEndpoints: true })).resolves.toBeUndefined();
    await expect(validateConnection(base)).resolves.toBeUndefined(); // global-setup sets it for the test run
  });

  it("connects to the pinned address, never asking DNS again", async () => {
    let lookups = 0;
    const resolve = () => {
      lookups++;
      return Promise.resolve(
        lookups === 1 ? [{ address: "127.0.0.1", family: 4 as const }] : [{ address: "10.0.0.1", family: 4 as const }],
      );
    };
    const log = recordRequests();
    await validateConnection(
      { ...base, endpoint: `http://s3.wire-pinned.invalid:${port}`, prefix: "reports/" },
      { allowPrivateEndpoints: true, resolve },
    );
    expect(lookups).toBe(1);
    expect(log.map((r) => r.host)).toEqual(["s3.wire-pinned.invalid", "s3.wire-pinned.invalid"]);
  });

  it("maps an unresolvable host to endpoint_unreachable", async () => {
    const resolve = () =>
      Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND s3.nowhere.invalid"), { code: "ENOTFOUND" }));
    const error = await failure(validateConnection({ ...base, endpoint: "s3.nowhere.invalid" }, { resolve }));
    expect(error).toMatchObject({ kind: "endpoint_unreachable", field: "endpoint" });
    expect(error.message).toBe(
      "The host of https://s3.nowhere.invalid could not be found. Check the endpoint's spelling.",
    );
  });
});

describe("createS3Client against s3rver", () => {
  it("reads objects under a prefix; the log shows what was read", async () => {
    const client = await createS3Client({ endpoint, region: "us-east-1", credentials });
    const log = recordRequests();
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "reports/2026/" }));
      const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
      expect(keys).toEqual(["reports/2026/q1.txt", "reports/2026/q2.txt"]);
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "reports/2026/q1.txt" }));
      expect(await object.Body!.transformToString()).toBe("Q1 2026: revenue grew 12%.");
      expect(log).toEqual([
        { operation: "ListObjectsV2", method: "GET", host: "127.0.0.1", bucket, prefix: "reports/2026/" },
        { operation: "GetObject", method: "GET", host: "127.0.0.1", bucket, key: "reports/2026/q1.txt" },
      ]);
    } finally {
      client.destroy();
    }
  });

  it("keeps connections across the clients of one destination; destroying one leaves the others working", async () => {
    const proxy = await startFaultProxy(endpoint, () => null);
    const clientOf = () => createS3Client({ endpoint: proxy.endpoint, region: "us-east-1", credentials });
    const list = (client: S3Client) => client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    try {
      for (let step = 0; step < 5; step++) {
        const client = await clientOf();
        await list(client);
        client.destroy();
      }
      expect(proxy.connections()).toBe(1);
      const [busy, done] = await Promise.all([clientOf(), clientOf()]);
      const listing = list(busy);
      done.destroy();
      await expect(listing).resolves.toMatchObject({ KeyCount: 1 });
      busy.destroy();
    } finally {
      await proxy.close();
    }
  });

  it("checkBucketAccess works on a caller's client", async () => {
    const client = await createS3Client({ endpoint, region: "us-east-1", credentials });
    try {
      await expect(
        checkBucketAccess(client, { bucket, prefix: "other/", region: "us-east-1", endpoint }),
      ).resolves.toBeUndefined();
      const error = await failure(
        checkBucketAccess(client, { bucket: "missing-bucket", region: "us-east-1", endpoint }),
      );
      expect(error.kind).toBe("bucket_not_found");
    } finally {
      client.destroy();
    }
  });

  it("refuses region auto without an endpoint", async () => {
    const error = await failure(validateConnection({ ...base, endpoint: null, region: "auto" }));
    expect(error).toMatchObject({ kind: "wrong_region", field: "region" });
  });
});
