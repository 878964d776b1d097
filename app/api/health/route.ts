export const dynamic = "force-dynamic";

/** 200 when the database and the engine answer, else 503 (see server/routes/health.ts). */
export { healthCheck as GET } from "@/server/routes/health";
