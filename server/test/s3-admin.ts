import { S3Client } from "@aws-sdk/client-s3";

/**
 * An S3 client with s3rver's credentials, for tests and benchmarks to set up buckets and objects.
 * (Wire itself never writes to a bucket; this is the test's own hand.)
 */
export function s3AdminClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
