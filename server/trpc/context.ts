import "server-only";
import { requestIdFrom } from "@/server/ids";
import type { Database } from "@/db/client";
import { getDb } from "@/db/client";
import { getSessionUser, type SessionUser } from "@/server/auth";
import { eventOutbox, type EventOutbox } from "@/inngest/outbox";
import { blobStore, type BlobStore } from "@/server/blobs";
import { logger, type Logger } from "@/server/logger";
import { mailer, type Mailer } from "@/server/mail";

export interface Context {
  db: Database;
  blobs: BlobStore;
  events: EventOutbox;
  user: SessionUser | null;
  log: Logger;
  requestId: string;
  mailer: Mailer;
}

export async function createContext({ headers }: { headers: Headers }): Promise<Context> {
  const requestId = requestIdFrom(headers);
  const user = await getSessionUser(headers);
  return {
    db: getDb(),
    blobs: blobStore(),
    events: eventOutbox(),
    mailer: mailer(),
    user,
    requestId,
    log: logger.child({ requestId, userId: user?.id }),
  };
}
