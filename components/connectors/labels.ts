import type { RouterOutputs } from "@/components/providers/trpc";
import { PROVIDERS, type ProviderId } from "@/server/services/connectors/providers";

export const STATUS_LABEL = {
  active: "Active",
  invalid_credentials: "Invalid credentials",
  disconnected: "Disconnected",
} as const;
export const STATUS_TONE = { active: "green", invalid_credentials: "red", disconnected: "zinc" } as const;

export function providerLabel(provider: ProviderId): string {
  return PROVIDERS[provider].label;
}

export function endpointLabel(endpoint: string | null): string {
  return endpoint ?? "AWS S3";
}

/** One line per source a connector feeds; a container the viewer cannot see is not named. */
export function feedLabel(feed: RouterOutputs["connectors"]["list"][number]["feeds"][number]): string {
  const where = `${feed.bucket}/${feed.prefix}`;
  return feed.container ? `${feed.container.name} ← ${where}` : `${where} (a container you cannot see)`;
}
