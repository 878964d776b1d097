import { inject } from "vitest";

// Before any test imports the app's modules: point them at the test database and data directory.
process.env.DATABASE_URL = inject("databaseUrl");
process.env.WIRE_DATA_DIR = inject("dataDir");
(process.env as Record<string, string>).NODE_ENV = "test";
