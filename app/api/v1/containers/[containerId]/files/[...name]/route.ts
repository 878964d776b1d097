/** The agent API (see server/routes/agent-files.ts): `PUT` writes a file by name, `GET` reads one. */
export { getAgentFile as GET, putAgentFile as PUT } from "@/server/routes/agent-files";
