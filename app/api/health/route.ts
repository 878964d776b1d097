import { sql } from "drizzle-orm";
import { getDb } from "@/db/client";
import { engineStatus } from "@/inngest/engine-status";

export const dynamic = "force-dynamic";

export async function GET() {
  const db = await getDb()
    .execute(sql`select 1`)
    .then(() => "up" as const)
    .catch(() => "down" as const);
  const ok = db === "up";
  return Response.json({ ok, db, engine: engineStatus() }, { status: ok ? 200 : 503 });
}
