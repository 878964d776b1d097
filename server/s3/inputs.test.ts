import { describe, expect, it } from "vitest";
import {
  accessKeyIdSchema,
  bucketNameSchema,
  endpointSchema,
  prefixSchema,
  regionSchema,
  s3ConnectionSchema,
  secretAccessKeySchema,
  sessionTokenSchema,
} from "@/server/s3/inputs";

function messageOf(result: { success: boolean; error?: { issues: { message: string }[] } }): string {
  expect(result.success).toBe(false);
  return result.error!.issues[0]!.message;
}

describe("bucketNameSchema", () => {
  it.each(["wire-test", "abc", "my.bucket.name", "a".repeat(63), "1bucket9", "logs-2026.eu"])("accepts %s", (name) => {
    expect(bucketNameSchema.parse(name)).toBe(name);
  });

  it("trims copy-paste spaces", () => {
    expect(bucketNameSchema.parse("  wire-test \n")).toBe("wire-test");
  });

  it.each([
    ["", "Enter a bucket name."],
    ["ab", "3 to 63 characters"],
    ["a".repeat(64), "3 to 63 characters"],
    ["Wire-Test", "lowercase letters only"],
    ["wire_test", "only lowercase letters, digits, dots (.) and hyphens (-)"],
    ["-wire", "begin and end with a letter or digit"],
    ["wire.", "begin and end with a letter or digit"],
    ["wire..test", "two dots in a row"],
    ["192.168.5.4", "IP address"],
    ["xn--bucket", 'start with "xn--"'],
    ["sthree-bucket", 'start with "sthree-"'],
    ["bucket-s3alias", 'end with "-s3alias"'],
    ["bucket--ol-s3", 'end with "--ol-s3"'],
    ["bucket--x-s3", 'end with "--x-s3"'],
  ])("refuses %j", (name, message) => {
    expect(messageOf(bucketNameSchema.safeParse(name))).toContain(message);
  });
});

describe("prefixSchema", () => {
  it("keeps the prefix exactly as typed; empty and missing are allowed", () => {
    expect(prefixSchema.parse("reports/2026/")).toBe("reports/2026/");
    expect(prefixSchema.parse("reports/2026")).toBe("reports/2026");
    expect(prefixSchema.parse(" spaced ")).toBe(" spaced ");
    expect(prefixSchema.parse("")).toBe("");
    expect(prefixSchema.parse(undefined)).toBeUndefined();
    expect(prefixSchema.parse(null)).toBeUndefined();
  });

  it("refuses a leading slash, control characters and more than 1,024 bytes", () => {
    expect(messageOf(prefixSchema.safeParse("/reports/"))).toContain('do not start with "/"');
    expect(messageOf(prefixSchema.safeParse("reports/\n"))).toContain("control character");
    expect(prefixSchema.safeParse("é".repeat(512)).success).toBe(true); // 1,024 bytes
    expect(messageOf(prefixSchema.safeParse("é".repeat(513)))).toContain("1,024 bytes");
  });
});

describe("regionSchema", () => {
  it.each([
    ["us-east-1", "us-east-1"],
    ["eu-central-1", "eu-central-1"],
    ["auto", "auto"],
    ["us-west-002", "us-west-002"],
    ["nyc3", "nyc3"],
    [" EU-WEST-1 ", "eu-west-1"],
    ["", "us-east-1"],
    [undefined, "us-east-1"],
    [null, "us-east-1"],
  ])("%j → %s", (input, output) => {
    expect(regionSchema.parse(input)).toBe(output);
  });

  it.each(["us_east_1", "us east 1", "-us-east-1", "us--east-1", "eu-west-1.", "a".repeat(65)])("refuses %j", (r) => {
    expect(regionSchema.safeParse(r).success).toBe(false);
  });
});

describe("endpointSchema", () => {
  it.each([
    ["s3.amazonaws.com", "https://s3.amazonaws.com"],
    ["ACCOUNT.r2.cloudflarestorage.com", "https://account.r2.cloudflarestorage.com"],
    ["s3.us-west-002.backblazeb2.com/", "https://s3.us-west-002.backblazeb2.com"],
    ["minio.internal:9000", "https://minio.internal:9000"],
    ["http://127.0.0.1:9000", "http://127.0.0.1:9000"],
    ["https://s3.wasabisys.com:443", "https://s3.wasabisys.com"],
    ["HTTP://Minio.Example.com:80/", "http://minio.example.com"],
    ["http://[::1]:9000", "http://[::1]:9000"],
    ["  https://nyc3.digitaloceanspaces.com  ", "https://nyc3.digitaloceanspaces.com"],
    ["", null],
    [undefined, null],
    [null, null],
  ])("%j → %j", (input, output) => {
    expect(endpointSchema.parse(input)).toBe(output);
  });

  it.each([
    ["ftp://files.example.com", "http:// or https://"],
    ["https://s3.example.com/my-bucket", "must not include a path"],
    ["https://key:secret@s3.example.com", "user name and password"],
    ["https://s3.example.com?x=1", "query"],
    ["https://s3.example.com#frag", "fragment"],
    ["s3.example.com:99999", "host name (s3.example.com)"],
    ["not a host", "host name (s3.example.com)"],
  ])("refuses %j", (input, message) => {
    expect(messageOf(endpointSchema.safeParse(input))).toContain(message);
  });

  it("does not echo credentials embedded in the endpoint", () => {
    const message = messageOf(endpointSchema.safeParse("https://AKIAIOSFODNN7EXAMPLE:topsecret@s3.example.com"));
    expect(message).not.toContain("topsecret");
    expect(message).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });
});

describe("credential schemas", () => {
  it.each([
    "AKIAIOSFODNN7EXAMPLE", // AWS
    "ASIAIOSFODNN7EXAMPLE", // AWS STS
    "0123456789abcdef0123456789abcdef", // Cloudflare R2 (32 hex)
    "0021234567890ab0000000001", // Backblaze B2 application key id
    "S3RVER", // s3rver
    "minioadmin", // MinIO root user
  ])("accepts access key ID %s", (id) => {
    expect(accessKeyIdSchema.parse(` ${id} `)).toBe(id);
  });

  it.each([
    ["", "Enter the access key ID."],
    ["ab", "too short"],
    ["AKIA IOSFODNN7", "only letters, digits"],
    ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "only letters, digits"],
    ["A".repeat(129), "longer than 128"],
  ])("refuses access key ID %j", (id, message) => {
    expect(messageOf(accessKeyIdSchema.safeParse(id))).toContain(message);
  });

  it("secret access key: non-empty, at most 256, no inner spaces", () => {
    expect(secretAccessKeySchema.parse(" wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")).toBe(
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    expect(messageOf(secretAccessKeySchema.safeParse("  "))).toBe("Enter the secret access key.");
    expect(messageOf(secretAccessKeySchema.safeParse("x".repeat(257)))).toContain("256");
    expect(secretAccessKeySchema.safeParse("abc def").success).toBe(false);
  });

  it("session token: optional, at most 4,096", () => {
    expect(sessionTokenSchema.parse(undefined)).toBeUndefined();
    expect(sessionTokenSchema.parse("")).toBeUndefined();
    expect(sessionTokenSchema.parse("FwoGZXIvYXdzEJr//////////wEaDM")).toBe("FwoGZXIvYXdzEJr//////////wEaDM");
    expect(messageOf(sessionTokenSchema.safeParse("x".repeat(4097)))).toContain("4,096");
  });

  it("s3ConnectionSchema combines them with defaults", () => {
    expect(
      s3ConnectionSchema.parse({ endpoint: "", region: "", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }),
    ).toEqual({ endpoint: null, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
  });
});
