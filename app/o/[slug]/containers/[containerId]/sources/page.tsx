import type { Metadata } from "next";
import { SourcesPage } from "@/components/sources/sources-page";

export const metadata: Metadata = { title: "Sources" };

export default async function Page({ params }: { params: Promise<{ containerId: string }> }) {
  return <SourcesPage containerId={(await params).containerId} />;
}
