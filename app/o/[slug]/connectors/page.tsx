import type { Metadata } from "next";
import { ConnectorsPage } from "@/components/connectors/connectors-page";

export const metadata: Metadata = { title: "Connectors" };

export default function Page() {
  return <ConnectorsPage />;
}
