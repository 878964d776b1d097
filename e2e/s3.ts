/** A real S3 HTTP server for the connector and source specs (s3rver), with one bucket of fixtures. */
export const E2E_S3 = {
  port: Number(process.env.E2E_S3_PORT ?? 4569),
  bucket: "e2e-bucket",
  objects: [
    { key: "reports/2026/q1.md", body: "# Q1\nRevenue up." },
    { key: "reports/2026/q2.md", body: "# Q2\nRevenue flat." },
  ],
  /** Enough objects under bulk/ that a backfill stays in Syncing for several seconds. */
  bulk: { prefix: "bulk/", count: 800, body: `Bulk note: ${"lorem ipsum ".repeat(20)}` },
};

export const e2eS3Endpoint = `http://127.0.0.1:${E2E_S3.port}`;
