import { redirect } from "next/navigation";
import { getDb } from "@/db/client";
import { requirePageUser } from "@/server/page-session";
import { listOrganizationsOf } from "@/server/services/organizations";

export const dynamic = "force-dynamic";

/** Home: the user's first organization, or the place to create one. */
export default async function Home() {
  const user = await requirePageUser("/");
  const [first] = await listOrganizationsOf(getDb(), user.id);
  redirect(first ? `/o/${first.slug}/containers` : "/orgs/new");
}
