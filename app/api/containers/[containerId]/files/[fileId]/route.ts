/** Downloads of a stored copy: the handler is in server/, which alone reaches the database. */
export { downloadContainerFile as GET } from "@/server/routes/container-files";
