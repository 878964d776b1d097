import type { Metadata } from "next";
import { NewConnectorPage } from "@/components/connectors/new-connector-page";
import { requireOrgPagePermission } from "@/server/page-session";

export const metadata: Metadata = { title: "Add connector" };

export default async function Page({ params }: { params: Promise<{ slug: string }> }) {
  await requireOrgPagePermission((await params).slug, "connectors.manage");
  return <NewConnectorPage />;
}
