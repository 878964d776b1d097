import "server-only";
import { and, asc, count, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { containerAccess, containers, files } from "@/db/schema";
import { containerDeleted } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import { notFound } from "@/server/errors";
import { containerLevel, type OrgRole } from "@/server/permissions";
import { defined } from "@/server/defined";

/** Containers the user can see in the org, with their effective level and file count. */
export async function listContainers(db: DbOrTx, params: { orgId: string; userId: string; role: OrgRole }) {
  const seesAll = params.role === "owner" || params.role === "admin";
  const rows = await db
    .select({
      id: containers.id,
      name: containers.name,
      description: containers.description,
      updatedAt: containers.updatedAt,
      grant: containerAccess.level,
    })
    .from(containers)
    .leftJoin(
      containerAccess,
      and(eq(containerAccess.containerId, containers.id), eq(containerAccess.userId, params.userId)),
    )
    .where(eq(containers.orgId, params.orgId))
    .orderBy(asc(containers.name));
  const visible = rows
    .map(({ grant, ...c }) => ({ ...c, level: containerLevel(params.role, grant) }))
    .filter((c) => seesAll || c.level !== null);
  const counts = visible.length
    ? await db
        .select({ containerId: files.containerId, n: count() })
        .from(files)
        .where(
          inArray(
            files.containerId,
            visible.map((c) => c.id),
          ),
        )
        .groupBy(files.containerId)
    : [];
  const byId = new Map(counts.map((c) => [c.containerId, c.n]));
  return visible.map((c) => ({ ...c, fileCount: byId.get(c.id) ?? 0 }));
}

/** Members who create a container get edit access to it; Owners and Admins already manage every container. */
export async function createContainer(
  db: DbOrTx,
  params: { orgId: string; userId: string; role: OrgRole; name: string; description: string },
) {
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(containers)
      .values({ orgId: params.orgId, name: params.name, description: params.description, createdBy: params.userId })
      .returning();
    const container = defined(created, "the created container");
    if (params.role === "member") {
      await tx.insert(containerAccess).values({ containerId: container.id, userId: params.userId, level: "edit" });
    }
    return container;
  });
}

export async function getContainer(db: DbOrTx, containerId: string) {
  const [container] = await db.select().from(containers).where(eq(containers.id, containerId));
  if (!container) throw notFound("Container");
  return container;
}

export async function updateContainer(db: DbOrTx, params: { containerId: string; name: string; description: string }) {
  const [container] = await db
    .update(containers)
    .set({ name: params.name, description: params.description, updatedAt: new Date() })
    .where(eq(containers.id, params.containerId))
    .returning();
  if (!container) throw notFound("Container");
  return container;
}

/**
 * Deletes the container with its files, grants and tokens. The files' stored copies are removed in the
 * background (delete-container-blobs), so deleting a container of any size answers at once.
 */
export async function deleteContainer(db: DbOrTx, events: EventOutbox, params: { containerId: string }) {
  await db.transaction(async (tx) => {
    const [deleted] = await tx
      .delete(containers)
      .where(eq(containers.id, params.containerId))
      .returning({ id: containers.id, orgId: containers.orgId });
    if (!deleted) throw notFound("Container");
    await events.record(tx, [containerDeleted.create({ containerId: deleted.id, orgId: deleted.orgId })]);
  });
  await events.flush();
}

/** Where a container's stored copies live in the blob store. */
export function containerBlobPrefix(containerId: string): string {
  return `containers/${containerId}/`;
}
