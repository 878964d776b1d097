"use client";
import { Check, Copy } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";
import { minimalIamPolicy } from "@/server/services/connectors/providers";

/**
 * The least-privilege IAM policy for a bucket and prefix, filled in as the admin types. The bucket and prefix
 * belong to the page: the connector form's test bucket and test prefix follow them.
 */
export function IamPolicyHelper({
  bucket,
  prefix,
  onBucketChange,
  onPrefixChange,
}: {
  bucket: string;
  prefix: string;
  onBucketChange: (bucket: string) => void;
  onPrefixChange: (prefix: string) => void;
}) {
  const [copied, setCopied] = useState(false);
  const policy = minimalIamPolicy(bucket, prefix);
  return (
    <section aria-labelledby="iam-heading" className="rounded-lg bg-white p-5 ring-1 ring-zinc-200">
      <h2 id="iam-heading" className="text-base font-semibold text-zinc-900">
        Minimal IAM policy
      </h2>
      <p className="mt-1 mb-4 text-sm text-zinc-500">
        Wire only reads: it lists under the prefixes you attach and downloads objects there. It never writes or deletes.
      </p>
      <div className="mb-3 grid grid-cols-1 gap-3 sm:grid-cols-2">
        <TextField
          label="Bucket"
          value={bucket}
          onChange={(e) => onBucketChange(e.target.value)}
          placeholder="your-bucket"
        />
        <TextField
          label="Prefix"
          value={prefix}
          onChange={(e) => onPrefixChange(e.target.value)}
          placeholder="reports/2026/"
        />
      </div>
      <pre
        data-testid="iam-policy"
        tabIndex={0}
        className="max-h-80 overflow-auto rounded bg-zinc-900 p-3 text-xs text-zinc-100"
      >
        {policy}
      </pre>
      <div className="mt-3 flex justify-end">
        <Button
          variant="secondary"
          size="sm"
          onClick={() => {
            void navigator.clipboard.writeText(policy).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 2000);
            });
          }}
        >
          {copied ? <Check className="size-4" aria-hidden /> : <Copy className="size-4" aria-hidden />}
          {copied ? "Copied" : "Copy policy"}
        </Button>
      </div>
    </section>
  );
}
