import type { Metadata } from "next";
import { AccessPage } from "@/components/containers/access-page";

export const metadata: Metadata = { title: "Access" };

export default async function Page({ params }: { params: Promise<{ containerId: string }> }) {
  return <AccessPage containerId={(await params).containerId} />;
}
