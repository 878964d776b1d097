import { Plug } from "lucide-react";
import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/components/ui/states";

export const metadata: Metadata = { title: "Connectors" };

export default function Page() {
  return (
    <>
      <PageHeader
        title="Connectors"
        description="Credentials for the storage your containers sync from, shared across the organization."
      />
      <EmptyState icon={<Plug className="size-8" />} title="No connectors yet">
        S3 and S3-compatible connectors are not available in this version of Wire yet.
      </EmptyState>
    </>
  );
}
