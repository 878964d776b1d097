import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";
import { migrateDatabase } from "@/db/migrate";

/**
 * A fresh, migrated database on the test cluster, for tests whose state must not mix with other test
 * files running at the same time (the engine's queue is shared by every worker that can see it).
 */
export async function createIsolatedDatabase(label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(inject("databaseUrl"));
  const name = `${label}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

/**
 * Gives a test file that runs the app's functions on an engine a database of its own; call it before importing
 * any of the app's modules. Every engine on a database takes calls from its queue, so on the shared one
 * another file's engine could take this file's calls and stop mid-call when its file ends (each such call then
 * waits out its 30 s lease). Drop it in afterAll.
 */
export async function switchToOwnDatabase(label: string) {
  const database = await createIsolatedDatabase(label);
  process.env.DATABASE_URL = database.url;
  return database;
}
