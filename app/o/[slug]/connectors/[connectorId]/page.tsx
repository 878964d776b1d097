import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ConnectorDetail } from "@/components/connectors/connector-detail";
import { isUuid } from "@/server/ids";

export const metadata: Metadata = { title: "Connector" };

export default async function Page({ params }: { params: Promise<{ connectorId: string }> }) {
  const { connectorId } = await params;
  if (!isUuid(connectorId)) notFound();
  return <ConnectorDetail connectorId={connectorId} />;
}
