import fs from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import { E2E_S3 } from "./e2e/s3";

const PORT = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://localhost:${PORT}`;

// Debian's Chromium where it is installed (machines that cannot download Playwright's browser);
// Playwright's own browser everywhere else. PLAYWRIGHT_CHROMIUM_PATH overrides both.
const systemChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
const executablePath = process.env.PLAYWRIGHT_CHROMIUM_PATH ?? systemChromium;

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : "list",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    ...devices["Desktop Chrome"],
    launchOptions: {
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: [
    {
      command: `rm -rf .data/e2e-s3 && node server/test/s3rver.mjs '${JSON.stringify({
        directory: ".data/e2e-s3",
        port: E2E_S3.port,
        buckets: [E2E_S3.bucket],
        objects: E2E_S3.objects.map((o) => ({ bucket: E2E_S3.bucket, ...o })),
        generate: [{ bucket: E2E_S3.bucket, ...E2E_S3.bulk }],
        watchStdin: false,
      })}'`,
      url: `http://127.0.0.1:${E2E_S3.port}/`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
      // s3rver's continuation tokens use a cipher OpenSSL 3 only has in its legacy provider.
      env: { NODE_OPTIONS: "--openssl-legacy-provider" },
    },
    {
      // A fresh embedded database for every run; the app is built by `npm run test:e2e` beforehand, and started
      // as `npm start` starts it (node's flags included).
      command: `rm -rf .data/e2e && npm start -- -p ${PORT}`,
      url: `${baseURL}/api/health`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        WIRE_DATA_DIR: ".data/e2e",
        WIRE_EMBEDDED_PG_PORT: process.env.E2E_PG_PORT ?? "54339",
        WIRE_ENGINE_PORT: process.env.E2E_ENGINE_PORT ?? "54340",
        // One engine worker: a second source queues behind a running backfill, so Pending can be seen.
        WIRE_ENGINE_WORKERS: "1",
        WIRE_PUBLIC_URL: baseURL,
        WIRE_AUTH_RATE_LIMIT: "off",
        LOG_LEVEL: "warn",
        NEXT_TELEMETRY_DISABLED: "1",
        // The e2e S3 server listens on loopback, which the SSRF guard refuses by default.
        WIRE_ALLOW_PRIVATE_ENDPOINTS: "true",
      },
    },
  ],
});
