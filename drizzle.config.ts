import { defineConfig } from "drizzle-kit";

// Only `generate` is used from here: migrations are applied by the app itself at start (db/migrate.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  casing: "snake_case",
});
