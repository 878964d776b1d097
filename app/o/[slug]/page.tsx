import { redirect } from "next/navigation";

export default async function OrgHome({ params }: { params: Promise<{ slug: string }> }) {
  redirect(`/o/${(await params).slug}/containers`);
}
