import type { Metadata } from "next";
import { MembersPage } from "@/components/members/members-page";
import { requirePageUser } from "@/server/page-session";

export const metadata: Metadata = { title: "Members" };

export default async function Page({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requirePageUser(`/o/${(await params).slug}/members`);
  return <MembersPage currentUserId={user.id} />;
}
