import { FilesPage } from "@/components/files/files-page";

export default async function Page({ params }: { params: Promise<{ containerId: string }> }) {
  return <FilesPage containerId={(await params).containerId} />;
}
