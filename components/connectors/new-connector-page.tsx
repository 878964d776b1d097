"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type SubmitEvent } from "react";
import { useOrg } from "@/components/orgs/org-context";
import { useTRPC } from "@/components/providers/trpc";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { SelectField, TextField } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/states";
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from "@/server/services/connectors/providers";
import { formErrors } from "@/components/ui/form-errors";
import { IamPolicyHelper } from "./iam-policy";
import { formText } from "@/components/ui/form-data";
import { refetchAfterChange } from "@/components/providers/query-client";

const FIELDS = [
  "label",
  "provider",
  "endpoint",
  "region",
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "testBucket",
  "testPrefix",
] as const;

export function NewConnectorPage() {
  const org = useOrg();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [provider, setProvider] = useState<ProviderId>("aws");
  const [region, setRegion] = useState<string>(PROVIDERS.aws.region);
  // The policy helper's bucket and prefix prefill the test bucket and prefix until those are typed in.
  const [policy, setPolicy] = useState({ bucket: "", prefix: "" });
  const [testBucket, setTestBucket] = useState<string | null>(null);
  const [testPrefix, setTestPrefix] = useState<string | null>(null);
  const preset = PROVIDERS[provider];
  const create = useMutation(
    trpc.connectors.create.mutationOptions({
      onSuccess: async (connector) => {
        await refetchAfterChange(queryClient, { queryKey: trpc.connectors.list.queryKey() });
        router.push(`/o/${org.slug}/connectors/${connector.id}`);
      },
    }),
  );
  const errors = formErrors(create.error, FIELDS);

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => formText(form, name).trim();
    create.mutate({
      orgId: org.id,
      provider,
      label: text("label"),
      endpoint: text("endpoint") || undefined,
      region: region.trim() || undefined,
      accessKeyId: text("accessKeyId"),
      secretAccessKey: formText(form, "secretAccessKey"),
      sessionToken: text("sessionToken") || undefined,
      testBucket: text("testBucket"),
      testPrefix: formText(form, "testPrefix") || undefined,
    });
  }

  return (
    <>
      <PageHeader
        title="Add connector"
        description="Amazon S3 or any S3-compatible storage. Wire checks the credentials against the test bucket before storing anything."
      />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_minmax(0,26rem)]">
        <form
          onSubmit={onSubmit}
          className="space-y-4 rounded-lg bg-white p-5 ring-1 ring-zinc-200"
          aria-label="Add connector"
          noValidate
        >
          {errors.form && <Alert>{errors.form}</Alert>}
          <SelectField
            label="Provider"
            name="provider"
            value={provider}
            onChange={(e) => {
              const next = e.target.value as ProviderId;
              setProvider(next);
              setRegion(PROVIDERS[next].region);
            }}
            error={errors.field("provider")}
          >
            {PROVIDER_IDS.map((id) => (
              <option key={id} value={id}>
                {PROVIDERS[id].label}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Label"
            name="label"
            required
            maxLength={80}
            placeholder="Research bucket (read-only)"
            error={errors.field("label")}
          />
          <TextField
            label={provider === "aws" ? "Endpoint (optional)" : "Endpoint"}
            name="endpoint"
            key={`endpoint-${provider}`}
            placeholder={preset.endpoint || "s3.amazonaws.com"}
            hint={preset.endpointHint}
            error={errors.field("endpoint")}
          />
          <TextField
            label="Region"
            name="region"
            value={region}
            onChange={(e) => setRegion(e.target.value)}
            hint={preset.regionHint}
            error={errors.field("region")}
          />
          <TextField
            label="Access key ID"
            name="accessKeyId"
            required
            autoComplete="off"
            spellCheck={false}
            error={errors.field("accessKeyId")}
          />
          <TextField
            label="Secret access key"
            name="secretAccessKey"
            type="password"
            required
            autoComplete="new-password"
            hint="Encrypted before it is stored. Nobody, Owners included, can see it again."
            error={errors.field("secretAccessKey")}
          />
          <TextField
            label="Session token (optional)"
            name="sessionToken"
            type="password"
            autoComplete="off"
            hint="Only for temporary (STS) credentials."
            error={errors.field("sessionToken")}
          />
          <TextField
            label="Test bucket"
            name="testBucket"
            required
            spellCheck={false}
            value={testBucket ?? policy.bucket}
            onChange={(e) => setTestBucket(e.target.value)}
            hint="A bucket these credentials can list. Wire reads it once to check the credentials, and never writes to it."
            error={errors.field("testBucket")}
          />
          <TextField
            label="Test prefix (optional)"
            name="testPrefix"
            spellCheck={false}
            placeholder="reports/2026/"
            value={testPrefix ?? policy.prefix}
            onChange={(e) => setTestPrefix(e.target.value)}
            hint="Where Wire lists to check the credentials (one listing, one key). Needed when they may only list a prefix, as with the minimal IAM policy; empty checks the whole bucket."
            error={errors.field("testPrefix")}
          />
          <div className="flex justify-end gap-2 pt-2">
            <Button variant="secondary" onClick={() => router.push(`/o/${org.slug}/connectors`)}>
              Cancel
            </Button>
            <Button type="submit" pending={create.isPending}>
              {create.isPending ? "Checking credentials…" : "Connect"}
            </Button>
          </div>
        </form>
        <IamPolicyHelper
          bucket={policy.bucket}
          prefix={policy.prefix}
          onBucketChange={(bucket) => setPolicy((p) => ({ ...p, bucket }))}
          onPrefixChange={(prefix) => setPolicy((p) => ({ ...p, prefix }))}
        />
      </div>
    </>
  );
}
