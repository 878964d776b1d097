import { PROVIDERS, type ProviderId } from "@/server/services/connectors/providers";

export const STATUS_LABEL = { active: "Active", invalid_credentials: "Invalid credentials", disconnected: "Disconnected" } as const;
export const STATUS_TONE = { active: "green", invalid_credentials: "red", disconnected: "zinc" } as const;

export function providerLabel(provider: ProviderId): string {
  return PROVIDERS[provider].label;
}

export function endpointLabel(endpoint: string | null): string {
  return endpoint ?? "AWS S3";
}
