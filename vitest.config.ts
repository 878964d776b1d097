import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      "server-only": path.resolve(import.meta.dirname, "server/test/server-only.ts"),
    },
  },
  test: {
    include: ["{server,db,inngest,app,components}/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./server/test/global-setup.ts"],
    setupFiles: ["./server/test/setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
