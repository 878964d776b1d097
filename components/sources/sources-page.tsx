import { Database } from "lucide-react";
import { Button } from "@/components/ui/button";

/** The providers a container can pull files from. Setting one up arrives with the connectors work. */
const PROVIDERS = [{ id: "s3", name: "Amazon S3", description: "Sync a bucket, or a prefix of one, from S3 or any S3-compatible storage." }];

export function SourcesPage() {
  return (
    <ul className="divide-y divide-zinc-200 rounded-lg bg-white ring-1 ring-zinc-200" aria-label="Source providers">
      {PROVIDERS.map((p) => (
        <li key={p.id} className="flex items-center justify-between gap-4 px-4 py-4">
          <div className="flex items-start gap-3">
            <Database className="mt-0.5 size-5 text-zinc-500" aria-hidden />
            <div>
              <div className="font-medium text-zinc-900">{p.name}</div>
              <p className="text-sm text-zinc-500">{p.description}</p>
            </div>
          </div>
          <div className="flex items-center gap-3">
            <span id={`${p.id}-availability`} className="text-xs text-zinc-500">
              Not available yet
            </span>
            <Button variant="secondary" disabled aria-describedby={`${p.id}-availability`}>
              Setup
            </Button>
          </div>
        </li>
      ))}
    </ul>
  );
}
