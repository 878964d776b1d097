/**
 * S3 as it answers under an IAM policy, for what s3rver (no IAM at all) cannot show: an aws-sdk-client-mock
 * of S3Client that allows a request only when the policy document allows it, as AWS evaluates it:
 * - ListObjectsV2 needs s3:ListBucket on the bucket ARN, with the request's Prefix as the `s3:prefix` key;
 * - HeadBucket needs the same action but carries no `s3:prefix`, so a prefix condition refuses it.
 * Denials answer the way S3 does (AccessDenied with a body; a bodiless 403 for HEAD). Allowed listings answer
 * from `keys`. Only Allow statements and StringLike conditions: what Wire's generated policy uses.
 */
import { HeadBucketCommand, ListObjectsV2Command, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";

interface Statement {
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string;
  Condition?: { StringLike?: Record<string, string[]> };
}

/** IAM's StringLike: `*` any run of characters, `?` one character, everything else literal. */
function like(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "s").test(value);
}

function allows(
  policy: { Statement: Statement[] },
  action: string,
  resource: string,
  keys: Record<string, string | undefined>,
): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== "Allow" || !s.Action.includes(action) || !like(s.Resource, resource)) return false;
    return Object.entries(s.Condition?.StringLike ?? {}).every(([key, patterns]) => {
      const value = keys[key];
      return value !== undefined && patterns.some((p) => like(p, value));
    });
  });
}

function denied(head: boolean): S3ServiceException {
  const error = new S3ServiceException({
    name: head ? "Unknown" : "AccessDenied",
    $fault: "client",
    $metadata: { httpStatusCode: 403, requestId: "IAM-SIM", attempts: 1, totalRetryDelay: 0 },
    message: head ? "UnknownError" : "Access Denied",
  });
  if (!head) Object.assign(error, { Code: "AccessDenied" });
  Object.defineProperty(error, "$response", {
    value: { statusCode: 403, headers: {}, body: undefined },
    enumerable: false,
  });
  return error;
}

/**
 * Mocks `target` (an S3Client, or the S3Client class for every client made while the mock is active) to
 * answer as S3 would under `policyJson`. Returns the stub: `.restore()` it when done.
 */
export function mockS3UnderPolicy(policyJson: string, keys: string[], target: S3Client | typeof S3Client = S3Client) {
  const policy = JSON.parse(policyJson) as { Statement: Statement[] };
  const stub = mockClient(target);
  stub.on(HeadBucketCommand).callsFake((input: { Bucket: string }) => {
    if (!allows(policy, "s3:ListBucket", `arn:aws:s3:::${input.Bucket}`, {})) throw denied(true);
    return {};
  });
  stub.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix?: string; MaxKeys?: number }) => {
    const prefix = input.Prefix ?? "";
    if (!allows(policy, "s3:ListBucket", `arn:aws:s3:::${input.Bucket}`, { "s3:prefix": prefix })) throw denied(false);
    const matching = keys.filter((k) => k.startsWith(prefix)).sort();
    const page = matching.slice(0, input.MaxKeys ?? 1000);
    return {
      Contents: page.map((Key) => ({ Key, ETag: `"${Key.length}"`, Size: Key.length })),
      KeyCount: page.length,
      IsTruncated: matching.length > page.length,
      ...(matching.length > page.length ? { NextContinuationToken: page.at(-1) } : {}),
    };
  });
  return stub;
}
