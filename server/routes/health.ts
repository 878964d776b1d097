import "server-only";
import { sql } from "drizzle-orm";
import { getDb } from "@/db/client";
import { engineStatus } from "@/inngest/engine/status";

/** 200 when the database answers and the embedded engine (if it runs here) is registered and its queue moves; else 503. */
export async function healthCheck() {
  const db = await getDb()
    .execute(sql`select 1`)
    .then(() => "up" as const)
    .catch(() => "down" as const);
  const engine = await engineStatus();
  const engineOk = engine.mode === "inngest" || (engine.ready === true && !engine.queue?.degraded);
  const ok = db === "up" && engineOk;
  return Response.json({ ok, db, engine }, { status: ok ? 200 : 503 });
}
