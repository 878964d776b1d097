/** Browser uploads: the handler is in server/, which alone reaches the database. */
export { uploadContainerFiles as POST } from "@/server/routes/container-files";
