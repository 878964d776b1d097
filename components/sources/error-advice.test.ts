import { describe, expect, it } from "vitest";
import { mapS3Error } from "@/server/s3/errors";
import { errorAdvice, errorCause } from "./error-advice";

const ctx = { bucket: "acme", region: "us-east-1", endpoint: "http://127.0.0.1:4569", prefix: "reports/" };
const serviceError = (code: string, status: number) =>
  Object.assign(new Error(code), { name: code, Code: code, $metadata: { httpStatusCode: status } });
const networkError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:4569`), { code });

describe("error advice", () => {
  // The reasons a source stores are mapS3Error's messages (or a raw network error): each gets advice for its cause.
  it.each([
    ["bucket_missing", mapS3Error(serviceError("NoSuchBucket", 404), ctx).message],
    ["credentials", mapS3Error(serviceError("InvalidAccessKeyId", 403), ctx).message],
    ["credentials", mapS3Error(serviceError("SignatureDoesNotMatch", 403), ctx).message],
    ["credentials", mapS3Error(serviceError("ExpiredToken", 400), ctx).message],
    ["access_denied", mapS3Error(serviceError("AccessDenied", 403), ctx).message],
    ["unreachable", mapS3Error(networkError("ECONNREFUSED"), ctx).message],
    ["unreachable", mapS3Error(networkError("ENOTFOUND"), ctx).message],
    ["unreachable", mapS3Error(networkError("ETIMEDOUT"), ctx).message],
    ["unreachable", "connect ECONNREFUSED 127.0.0.1:4569"],
    ["provider", mapS3Error(serviceError("InternalError", 500), ctx).message],
    ["empty_listing", "The bucket listing came back empty, but this source has 12 files. Nothing was removed."],
    ["credentials", "The connector's credentials no longer work; an Owner or Admin needs to re-test or replace them."],
    ["other", "Something nobody planned for."],
  ] as const)("%s: %s", (cause, reason) => {
    expect(errorCause(reason)).toBe(cause);
  });

  it("never gives the credentials advice for a missing bucket or an unreachable server", () => {
    expect(errorAdvice(mapS3Error(serviceError("NoSuchBucket", 404), ctx).message)).not.toMatch(/credentials/i);
    expect(errorAdvice("connect ECONNREFUSED 127.0.0.1:4569")).not.toMatch(/credentials/i);
    expect(errorAdvice(mapS3Error(serviceError("InvalidAccessKeyId", 403), ctx).message)).toMatch(/credentials/i);
  });
});
