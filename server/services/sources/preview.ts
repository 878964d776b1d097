/**
 * What a prefix would pull, shown in the Add bucket form before anything is saved: how many objects it holds
 * (counted from one listing page, so capped at 1,000) and, for a prefix that does not end in "/", what else
 * it matches besides the folder the user probably meant ("reports/2026" also matches "reports/2026-old/").
 * Reads only, under the prefix: ListObjectsV2 { Prefix, MaxKeys 1000 } and ListObjectsV2 { Prefix, Delimiter "/" }.
 */
import "server-only";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { connectors } from "@/db/schema";
import { AppError } from "@/server/errors";
import { mapS3Error } from "@/server/s3/errors";
import { listPage } from "@/server/s3/objects";
import { connectorClient } from "@/server/services/connectors/client";

/** Objects counted before the count is shown as "1,000+": one listing page, whatever the prefix size. */
export const PREVIEW_COUNT_CAP = 1000;
/** Matches listed beside a prefix without a trailing slash (enough to show the surprise, not a browser). */
const MATCHES_SHOWN = 10;

export interface PrefixPreview {
  /** Objects under the prefix (folder markers left out), at most PREVIEW_COUNT_CAP. */
  objectCount: number;
  /** More objects than counted. */
  capped: boolean;
  /** Set when the prefix is not empty and does not end in "/": what it matches at its own level. */
  openEnded: {
    /** Folders ("reports/2026-old/") and objects ("reports/2026.csv") the prefix matches, other than `folder`. */
    alsoMatches: string[];
    /** More matches than listed. */
    more: boolean;
    /** The prefix with a "/" added, when that folder exists: the one-click fix. */
    folder: string | null;
  } | null;
}

export async function previewPrefix(
  db: DbOrTx,
  params: { orgId: string; userId: string; connectorId: string; bucket: string; prefix: string },
): Promise<PrefixPreview> {
  const [connector] = await db
    .select()
    .from(connectors)
    .where(and(eq(connectors.id, params.connectorId), eq(connectors.orgId, params.orgId)));
  if (!connector) throw new AppError("NOT_FOUND", "Connector not found", "connectorId");
  if (connector.status !== "active")
    throw new AppError("BAD_REQUEST", "This connector cannot be used; pick another one.", "connectorId");

  const client = await connectorClient(
    db,
    connector,
    { type: "user", userId: params.userId },
    "preview a source's prefix",
  );
  const ctx = {
    bucket: params.bucket,
    region: connector.region,
    endpoint: connector.endpoint,
    ...(params.prefix ? { prefix: params.prefix } : {}),
  };
  try {
    const openEndedPrefix = params.prefix !== "" && !params.prefix.endsWith("/");
    const [page, level] = await Promise.all([
      listPage(client, { bucket: params.bucket, prefix: params.prefix, token: null, maxKeys: PREVIEW_COUNT_CAP }),
      openEndedPrefix
        ? client.send(
            new ListObjectsV2Command({
              Bucket: params.bucket,
              Prefix: params.prefix,
              Delimiter: "/",
              MaxKeys: MATCHES_SHOWN + 1,
            }),
          )
        : null,
    ]);
    let openEnded: PrefixPreview["openEnded"] = null;
    if (level) {
      const folder = `${params.prefix}/`;
      const matches = [
        ...(level.CommonPrefixes ?? []).map((p) => p.Prefix ?? ""),
        ...(level.Contents ?? []).map((o) => o.Key ?? ""),
      ].filter(Boolean);
      const others = matches.filter((m) => m !== folder).sort();
      openEnded = {
        alsoMatches: others.slice(0, MATCHES_SHOWN),
        more: others.length > MATCHES_SHOWN || Boolean(level.IsTruncated),
        folder: matches.includes(folder) ? folder : null,
      };
    }
    return { objectCount: page.objects.length, capped: page.nextToken !== null, openEnded };
  } catch (error) {
    const mapped = mapS3Error(error, ctx);
    throw new AppError(
      "BAD_REQUEST",
      mapped.message,
      mapped.field === "testPrefix"
        ? "prefix"
        : mapped.field === "testBucket" || !mapped.field
          ? "bucket"
          : mapped.field,
    );
  } finally {
    client.destroy();
  }
}
