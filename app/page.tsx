import { redirect } from "next/navigation";
import { requirePageUser } from "@/server/page-session";
import { caller } from "@/server/trpc/server";

export const dynamic = "force-dynamic";

/** Home: the user's first organization, or the place to create one. */
export default async function Home() {
  await requirePageUser("/");
  const [first] = await caller.organizations.list();
  redirect(first ? `/o/${first.slug}/containers` : "/orgs/new");
}
