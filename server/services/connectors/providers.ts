/** Provider presets for the connector form, and the minimal IAM policy Wire needs (pure: browser-safe). */
export const PROVIDERS = {
  aws: {
    label: "Amazon S3",
    endpoint: "",
    endpointHint: "Leave empty for AWS S3.",
    region: "us-east-1",
    regionHint: "The bucket's region, e.g. eu-west-1.",
  },
  r2: {
    label: "Cloudflare R2",
    endpoint: "https://<account-id>.r2.cloudflarestorage.com",
    endpointHint: "Your account's S3 API endpoint, from the R2 dashboard.",
    region: "auto",
    regionHint: "R2 uses auto.",
  },
  minio: {
    label: "MinIO",
    endpoint: "https://minio.example.com:9000",
    endpointHint: "Your MinIO server.",
    region: "us-east-1",
    regionHint: "us-east-1 unless you configured another.",
  },
  b2: {
    label: "Backblaze B2",
    endpoint: "https://s3.us-west-002.backblazeb2.com",
    endpointHint: "The S3 endpoint shown on your bucket's page.",
    region: "us-west-002",
    regionHint: "The region part of the endpoint, e.g. us-west-002.",
  },
  wasabi: {
    label: "Wasabi",
    endpoint: "https://s3.wasabisys.com",
    endpointHint: "Use your bucket region's endpoint, e.g. s3.eu-central-1.wasabisys.com.",
    region: "us-east-1",
    regionHint: "The bucket's region.",
  },
  digitalocean: {
    label: "DigitalOcean Spaces",
    endpoint: "https://nyc3.digitaloceanspaces.com",
    endpointHint: "https://<region>.digitaloceanspaces.com",
    region: "us-east-1",
    regionHint: "Spaces accepts us-east-1 with any regional endpoint.",
  },
  custom: {
    label: "Custom (S3-compatible)",
    endpoint: "",
    endpointHint: "Any S3-compatible endpoint: host or URL.",
    region: "us-east-1",
    regionHint: "The bucket's region.",
  },
} as const;

export type ProviderId = keyof typeof PROVIDERS;
export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

/** The least Wire needs: read objects under the prefix, list only under the prefix. */
export function minimalIamPolicy(bucket: string, prefix: string): string {
  const b = bucket.trim() || "your-bucket";
  const p = prefix.trim().replace(/^\/+/, "");
  const list: Record<string, unknown> = { Effect: "Allow", Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${b}` };
  if (p) list.Condition = { StringLike: { "s3:prefix": [`${p}*`] } };
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: `arn:aws:s3:::${b}/${p}*` }, list],
    },
    null,
    2,
  );
}
