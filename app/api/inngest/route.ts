import { functions } from "@/inngest/functions";
import { inngestHandlers } from "@/inngest/serve";

export const dynamic = "force-dynamic";

export const { GET, POST, PUT } = inngestHandlers(functions);
