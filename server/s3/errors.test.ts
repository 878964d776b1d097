/**
 * Provider quirks no local server produces, through aws-sdk-client-mock. The errors are built the way the SDK
 * builds them (checked against s3rver): S3ServiceException with name/Code, $metadata.httpStatusCode, unmodeled
 * body fields copied onto the error (Region, Endpoint...), and a hidden, non-enumerable $response with headers.
 * HEAD responses have no body, so HeadBucket errors carry only the status (name "NotFound" for 404, "Unknown"
 * otherwise) and headers.
 */
import { HeadBucketCommand, ListObjectsV2Command, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createS3Client } from "@/server/s3/client";
import { EndpointNotAllowedError } from "@/server/s3/endpoint-guard";
import { mapS3Error, S3AccessError, type S3ErrorContext } from "@/server/s3/errors";
import { checkBucketAccess, validateConnection } from "@/server/s3/validate";
import { minimalIamPolicy } from "@/server/services/connectors/providers";
import { mockS3UnderPolicy } from "@/server/test/iam-policy";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const TOKEN = "FwoGZXIvYXdzEJr//////////wEaDMSECRETTOKEN";

function serviceError(opts: {
  name: string;
  status: number;
  body?: boolean;
  headers?: Record<string, string>;
  fields?: Record<string, string>;
  message?: string;
}): S3ServiceException {
  const body = opts.body ?? true;
  const error = new S3ServiceException({
    name: opts.name,
    $fault: opts.status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: opts.status, requestId: "REQ123", attempts: 1, totalRetryDelay: 0 },
    message: opts.message ?? (body ? `${opts.name} message` : "UnknownError"),
  });
  Object.assign(error, body ? { Code: opts.name, ...opts.fields } : {});
  Object.defineProperty(error, "$response", {
    value: {
      statusCode: opts.status,
      headers: { "content-type": "application/xml", ...opts.headers },
      body: undefined,
    },
    enumerable: false,
  });
  return error;
}

const headError = (status: number, headers?: Record<string, string>) =>
  serviceError({ name: status === 404 ? "NotFound" : "Unknown", status, body: false, ...(headers ? { headers } : {}) });

function systemError(code: string, message = `${code} happened`, name = "Error"): Error {
  const error = Object.assign(new Error(message), { code, name });
  Object.assign(error, { $metadata: { attempts: 3, totalRetryDelay: 150 } });
  return error;
}

const aws: S3ErrorContext = { bucket: "reports", region: "us-east-1", endpoint: null };
const minio: S3ErrorContext = { bucket: "reports", region: "us-east-1", endpoint: "https://minio.example.com:9000" };

function expectNoSecrets(error: S3AccessError) {
  const text = `${error.message} ${JSON.stringify(error)} ${JSON.stringify(error.detail)}`;
  for (const secret of [SECRET, KEY_ID, TOKEN]) expect(text).not.toContain(secret);
}

describe("mapS3Error", () => {
  it("301 PermanentRedirect with x-amz-bucket-region → wrong_region naming the region", () => {
    const error = mapS3Error(
      serviceError({
        name: "PermanentRedirect",
        status: 301,
        headers: { "x-amz-bucket-region": "eu-west-1" },
        fields: { Endpoint: "reports.s3.eu-west-1.amazonaws.com", Bucket: "reports" },
      }),
      aws,
    );
    expect(error).toMatchObject({ kind: "wrong_region", field: "region", bucketRegion: "eu-west-1" });
    expect(error.message).toBe("The bucket is in eu-west-1, not us-east-1. Set the region to eu-west-1.");
    expect(error.detail).toEqual({ code: "PermanentRedirect", httpStatusCode: 301, requestId: "REQ123" });
  });

  it("bodiless 301 from HeadBucket with the region header → wrong_region", () => {
    const error = mapS3Error(headError(301, { "x-amz-bucket-region": "ap-southeast-2" }), aws);
    expect(error).toMatchObject({ kind: "wrong_region", field: "region", bucketRegion: "ap-southeast-2" });
    expect(error.message).toBe("The bucket is in ap-southeast-2, not us-east-1. Set the region to ap-southeast-2.");
  });

  it("bodiless 400 from HeadBucket whose region header disagrees → wrong_region", () => {
    const error = mapS3Error(headError(400, { "x-amz-bucket-region": "eu-central-1" }), aws);
    expect(error).toMatchObject({ kind: "wrong_region", bucketRegion: "eu-central-1" });
  });

  it("301 without any region → wrong_region asking for the bucket's region", () => {
    const error = mapS3Error(headError(301), aws);
    expect(error).toMatchObject({ kind: "wrong_region", field: "region" });
    expect(error.bucketRegion).toBeUndefined();
    expect(error.message).toBe('The bucket "reports" is not in us-east-1. Set the region to the bucket\'s region.');
  });

  it("AuthorizationHeaderMalformed with Region in the body → wrong_region naming it", () => {
    const error = mapS3Error(
      serviceError({
        name: "AuthorizationHeaderMalformed",
        status: 400,
        fields: { Region: "us-west-2" },
        message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'us-west-2'",
      }),
      aws,
    );
    expect(error).toMatchObject({ kind: "wrong_region", field: "region", bucketRegion: "us-west-2" });
    expect(error.message).toBe("The bucket is in us-west-2, not us-east-1. Set the region to us-west-2.");
  });

  it("a redirect to the configured region means the endpoint serves another region", () => {
    const error = mapS3Error(
      serviceError({ name: "PermanentRedirect", status: 301, headers: { "x-amz-bucket-region": "eu-west-1" } }),
      { bucket: "reports", region: "eu-west-1", endpoint: "https://s3.amazonaws.com" },
    );
    expect(error).toMatchObject({ kind: "wrong_region", field: "endpoint", bucketRegion: "eu-west-1" });
    expect(error.message).toContain("the endpoint https://s3.amazonaws.com serves another region");
  });

  it("R2's InvalidRegionName → wrong_region on the region field", () => {
    const error = mapS3Error(serviceError({ name: "InvalidRegionName", status: 400 }), minio);
    expect(error).toMatchObject({ kind: "wrong_region", field: "region" });
    expect(error.message).toContain("auto");
  });

  it("403 on HeadBucket (no body) → access_denied on the test bucket", () => {
    const error = mapS3Error(headError(403, { "x-amz-bucket-region": "us-east-1" }), aws);
    expect(error).toMatchObject({ kind: "access_denied", field: "testBucket" });
    expect(error.message).toBe(
      'These credentials may not read bucket "reports". Allow s3:ListBucket on the bucket and s3:GetObject on its objects, or pick a bucket they can list.',
    );
  });

  it("AccessDenied with a prefix names the prefix, on the prefix field", () => {
    const error = mapS3Error(serviceError({ name: "AccessDenied", status: 403 }), { ...aws, prefix: "team/" });
    expect(error).toMatchObject({ kind: "access_denied", field: "testPrefix" });
    expect(error.message).toContain('bucket "reports" (prefix "team/")');
    expect(error.message).toContain("for this prefix");
  });

  it.each([
    ["InvalidAccessKeyId", 403, "accessKeyId", "The access key ID was not recognized"],
    ["SignatureDoesNotMatch", 403, "secretAccessKey", "The secret access key does not match"],
    ["ExpiredToken", 400, "sessionToken", "The session token has expired"],
    ["TokenRefreshRequired", 400, "sessionToken", "The session token has expired"],
    ["InvalidToken", 400, "sessionToken", "The session token is not valid"],
    ["Unauthorized", 401, "accessKeyId", "did not accept these credentials"],
  ] as const)("%s → invalid_credentials on %s", (name, status, field, message) => {
    const error = mapS3Error(
      serviceError({
        name,
        status,
        fields: { AWSAccessKeyId: KEY_ID, StringToSign: `AWS4-HMAC-SHA256 ${TOKEN}`, SignatureProvided: SECRET },
        message: `${name}: key ${KEY_ID} secret ${SECRET} token ${TOKEN}`,
      }),
      minio,
    );
    expect(error).toMatchObject({ kind: "invalid_credentials", field });
    expect(error.message).toContain(message);
    expectNoSecrets(error);
  });

  it.each([
    [
      "NoSuchBucket",
      404,
      aws,
      'The bucket "reports" does not exist at Amazon S3 (us-east-1). Check the bucket name and region.',
    ],
    [
      "NotFound",
      404,
      minio,
      'The bucket "reports" does not exist at https://minio.example.com:9000. Check the bucket name and endpoint.',
    ],
  ] as const)("%s → bucket_not_found", (name, status, ctx, message) => {
    const error = mapS3Error(serviceError({ name, status, body: name !== "NotFound" }), ctx);
    expect(error).toMatchObject({ kind: "bucket_not_found", field: "testBucket", message });
  });

  it.each([
    ["CERT_HAS_EXPIRED", "has expired"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed"],
    ["SELF_SIGNED_CERT_IN_CHAIN", "self-signed"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "could not be verified"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "different host name"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "did not answer with TLS"],
    ["EPROTO", "did not answer with TLS"],
    ["ERR_TLS_HANDSHAKE_TIMEOUT", "ERR_TLS_HANDSHAKE_TIMEOUT"],
  ])("%s → tls_error", (code, message) => {
    const error = mapS3Error(systemError(code), minio);
    expect(error).toMatchObject({ kind: "tls_error", field: "endpoint" });
    expect(error.message).toContain(message);
    expect(error.message).toContain("https://minio.example.com:9000");
  });

  it("finds TLS codes on a wrapped cause", () => {
    const wrapped = Object.assign(new Error("socket hang up"), { cause: systemError("CERT_HAS_EXPIRED") });
    expect(mapS3Error(wrapped, minio).kind).toBe("tls_error");
  });

  it.each([
    [
      "request timeout",
      Object.assign(new Error("exceeded the configured 30000 ms requestTimeout"), {
        name: "TimeoutError",
        code: "ETIMEDOUT",
      }),
    ],
    ["connection timeout", Object.assign(new Error("did not establish a connection"), { name: "TimeoutError" })],
    ["socket ETIMEDOUT", systemError("ETIMEDOUT")],
    ["S3 RequestTimeout", serviceError({ name: "RequestTimeout", status: 400 })],
  ])("%s → timeout", (_, raw) => {
    const error = mapS3Error(raw, minio);
    expect(error).toMatchObject({ kind: "timeout", field: "endpoint" });
    expect(error.message).toBe(
      "https://minio.example.com:9000 did not answer in time. Check that the endpoint is reachable from Wire, then try again.",
    );
  });

  it.each([
    [
      "ENOTFOUND",
      minio,
      "endpoint",
      "The host of https://minio.example.com:9000 could not be found. Check the endpoint's spelling.",
    ],
    [
      "EAI_AGAIN",
      minio,
      "endpoint",
      "The host of https://minio.example.com:9000 could not be found. Check the endpoint's spelling.",
    ],
    ["ENOTFOUND", aws, "region", 'Amazon S3 could not be reached in region "us-east-1". Check the region name.'],
    [
      "ECONNREFUSED",
      minio,
      "endpoint",
      "https://minio.example.com:9000 could not be reached (ECONNREFUSED). Check the endpoint's host and port, and that the server is running.",
    ],
    [
      "EHOSTUNREACH",
      minio,
      "endpoint",
      "https://minio.example.com:9000 could not be reached (EHOSTUNREACH). Check the endpoint's host and port, and that the server is running.",
    ],
  ] as const)("%s (%#) → endpoint_unreachable", (code, ctx, field, message) => {
    expect(mapS3Error(systemError(code), ctx)).toMatchObject({ kind: "endpoint_unreachable", field, message });
  });

  it("EndpointNotAllowedError → endpoint_not_allowed", () => {
    const error = mapS3Error(
      new EndpointNotAllowedError(
        "The endpoint 10.0.0.1 is a private address.",
        "forbidden_address",
        "10.0.0.1",
        "10.0.0.1",
        "private",
      ),
      minio,
    );
    expect(error).toMatchObject({
      kind: "endpoint_not_allowed",
      field: "endpoint",
      message: "The endpoint 10.0.0.1 is a private address.",
    });
  });

  it("5xx and unknown errors → unknown, with code and status but not the provider's text", () => {
    const slow = mapS3Error(serviceError({ name: "SlowDown", status: 503, message: `slow ${SECRET}` }), aws);
    expect(slow).toMatchObject({ kind: "unknown", field: null });
    expect(slow.message).toBe("Amazon S3 (us-east-1) had an internal error (HTTP 503, SlowDown). Try again later.");
    const odd = mapS3Error(serviceError({ name: "NotImplemented", status: 400, message: `nope ${KEY_ID}` }), aws);
    expect(odd.message).toBe("The storage service refused the request (NotImplemented, HTTP 400).");
    expectNoSecrets(odd);
    expect(mapS3Error("weird", aws)).toMatchObject({ kind: "unknown" });
    expect(mapS3Error(undefined, aws)).toMatchObject({ kind: "unknown" });
  });

  it("returns an S3AccessError unchanged", () => {
    const original = new S3AccessError("timeout", "slow");
    expect(mapS3Error(original, aws)).toBe(original);
  });
});

describe("checkBucketAccess with provider quirks (aws-sdk-client-mock)", () => {
  let client: S3Client;
  let mock: ReturnType<typeof mockClient>;
  beforeEach(async () => {
    client = await createS3Client({
      region: "us-east-1",
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: TOKEN },
    });
    mock = mockClient(client);
  });
  afterEach(() => {
    mock.restore();
    client.destroy();
  });
  const params = { bucket: "reports", prefix: "team/", region: "us-east-1" };

  function sentCommands() {
    return mock.calls().map((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: unknown };
      return [command.constructor.name, command.input];
    });
  }

  it("a prefix-scoped ListBucket policy: HeadBucket 403, listing the prefix works → access is fine", async () => {
    mock.on(HeadBucketCommand).rejects(headError(403));
    mock.on(ListObjectsV2Command).resolves({ KeyCount: 1, Contents: [{ Key: "team/a.txt" }] });
    await expect(checkBucketAccess(client, params)).resolves.toBeUndefined();
    expect(sentCommands()).toEqual([
      ["HeadBucketCommand", { Bucket: "reports" }],
      ["ListObjectsV2Command", { Bucket: "reports", Prefix: "team/", MaxKeys: 1 }],
    ]);
  });

  it("HeadBucket 403 then AccessDenied on the prefix listing → access_denied (testPrefix)", async () => {
    mock.on(HeadBucketCommand).rejects(headError(403));
    mock.on(ListObjectsV2Command).rejects(serviceError({ name: "AccessDenied", status: 403 }));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({
      kind: "access_denied",
      field: "testPrefix",
    });
  });

  it("AccessDenied listing the bucket root → root_listing_denied on the prefix field, not invalid credentials", async () => {
    mock.on(HeadBucketCommand).rejects(headError(403));
    mock.on(ListObjectsV2Command).rejects(serviceError({ name: "AccessDenied", status: 403 }));
    const error = await checkBucketAccess(client, { bucket: "reports", region: "us-east-1" }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: "root_listing_denied",
      field: "testPrefix",
      detail: { code: "AccessDenied", httpStatusCode: 403 },
    });
    expect((error as Error).message).toBe(
      'These credentials may not list the whole bucket "reports". If they are limited to a prefix (as Wire\'s minimal IAM policy is), enter that prefix.',
    );
  });

  it("HeadBucket 403 then SignatureDoesNotMatch → invalid_credentials (secretAccessKey)", async () => {
    mock.on(HeadBucketCommand).rejects(headError(403));
    mock.on(ListObjectsV2Command).rejects(serviceError({ name: "SignatureDoesNotMatch", status: 403 }));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({
      kind: "invalid_credentials",
      field: "secretAccessKey",
    });
  });

  it("bodiless HeadBucket 400 then ExpiredToken → invalid_credentials (sessionToken)", async () => {
    mock.on(HeadBucketCommand).rejects(headError(400));
    mock.on(ListObjectsV2Command).rejects(serviceError({ name: "ExpiredToken", status: 400 }));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({
      kind: "invalid_credentials",
      field: "sessionToken",
      message: "The session token has expired. Create new temporary credentials and enter them again.",
    });
  });

  it("HeadBucket 301 → wrong_region without listing", async () => {
    mock.on(HeadBucketCommand).rejects(headError(301, { "x-amz-bucket-region": "eu-west-1" }));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({
      kind: "wrong_region",
      bucketRegion: "eu-west-1",
      message: "The bucket is in eu-west-1, not us-east-1. Set the region to eu-west-1.",
    });
    expect(mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });

  it("HeadBucket 404 → bucket_not_found without listing", async () => {
    mock.on(HeadBucketCommand).rejects(headError(404));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({ kind: "bucket_not_found" });
    expect(mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });

  it("TLS and timeout errors pass through as tls_error / timeout", async () => {
    mock.on(HeadBucketCommand).rejects(systemError("CERT_HAS_EXPIRED"));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({ kind: "tls_error" });
    mock.reset();
    mock
      .on(HeadBucketCommand)
      .rejects(Object.assign(new Error("requestTimeout"), { name: "TimeoutError", code: "ETIMEDOUT" }));
    await expect(checkBucketAccess(client, params)).rejects.toMatchObject({ kind: "timeout" });
  });
});

describe("validateConnection with a mocked S3Client class", () => {
  it("reports the region of a bodiless HeadBucket 400 (AuthorizationHeaderMalformed on HEAD) for an AWS bucket", async () => {
    const mock = mockClient(S3Client);
    try {
      mock.on(HeadBucketCommand).rejects(headError(400, { "x-amz-bucket-region": "eu-north-1" }));
      await expect(
        validateConnection({
          region: "us-east-1",
          credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
          bucket: "reports",
        }),
      ).rejects.toMatchObject({ kind: "wrong_region", bucketRegion: "eu-north-1", field: "region" });
    } finally {
      mock.restore();
    }
  });
});

describe("validateConnection under Wire's own minimal IAM policy (IAM simulated with aws-sdk-client-mock)", () => {
  const keys = ["reports/2026/q1.txt", "reports/2026/q2.txt", "other/notes.txt"];
  const credentials = { accessKeyId: KEY_ID, secretAccessKey: SECRET };
  let stub: ReturnType<typeof mockS3UnderPolicy>;
  afterEach(() => stub.restore());

  it("validates with the policy's prefix as the test prefix: HeadBucket refused, the prefix listing decides", async () => {
    stub = mockS3UnderPolicy(minimalIamPolicy("reports-bucket", "reports/2026/"), keys);
    await expect(
      validateConnection({ region: "us-east-1", credentials, bucket: "reports-bucket", prefix: "reports/2026/" }),
    ).resolves.toBeUndefined();
    expect(
      stub
        .calls()
        .map((c) => [
          (c.args[0] as object).constructor.name,
          (c.args[0] as { input: { Prefix?: string } }).input.Prefix,
        ]),
    ).toEqual([
      ["HeadBucketCommand", undefined],
      ["ListObjectsV2Command", "reports/2026/"],
    ]);
  });

  it("without a test prefix: the root listing is refused → root_listing_denied on the prefix field", async () => {
    stub = mockS3UnderPolicy(minimalIamPolicy("reports-bucket", "reports/2026/"), keys);
    await expect(
      validateConnection({ region: "us-east-1", credentials, bucket: "reports-bucket" }),
    ).rejects.toMatchObject({
      kind: "root_listing_denied",
      field: "testPrefix",
    });
  });

  it("a test prefix the policy does not cover → access_denied on the prefix field", async () => {
    stub = mockS3UnderPolicy(minimalIamPolicy("reports-bucket", "reports/2026/"), keys);
    await expect(
      validateConnection({ region: "us-east-1", credentials, bucket: "reports-bucket", prefix: "other/" }),
    ).rejects.toMatchObject({
      kind: "access_denied",
      field: "testPrefix",
    });
  });

  it("a policy without a prefix (whole bucket) validates with or without a test prefix", async () => {
    stub = mockS3UnderPolicy(minimalIamPolicy("reports-bucket", ""), keys);
    await expect(
      validateConnection({ region: "us-east-1", credentials, bucket: "reports-bucket" }),
    ).resolves.toBeUndefined();
    await expect(
      validateConnection({ region: "us-east-1", credentials, bucket: "reports-bucket", prefix: "other/" }),
    ).resolves.toBeUndefined();
  });
});
