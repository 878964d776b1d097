import { randomUUID } from "node:crypto";
import { InngestTestEngine } from "@inngest/test";
import { describe, expect, it } from "vitest";
import { blobStore } from "@/server/blobs";
import { containerBlobPrefix } from "@/server/services/containers";
import { deleteContainerBlobs } from "./delete-container-blobs";

describe("delete-container-blobs", () => {
  it("removes the deleted container's stored copies and only those; running twice is harmless", async () => {
    const [deleted, other] = [randomUUID(), randomUUID()];
    const keys = [deleted, deleted, other].map((id) => `${containerBlobPrefix(id)}${randomUUID()}`);
    for (const key of keys) await blobStore().put(key, new TextEncoder().encode(key));
    const t = new InngestTestEngine({ function: deleteContainerBlobs });
    const event = { name: "wire/container.deleted" as const, data: { containerId: deleted, orgId: randomUUID() } };

    const { error } = await t.execute({ events: [event] });
    expect(error).toBeUndefined();
    expect(await Promise.all(keys.map((k) => blobStore().exists(k)))).toEqual([false, false, true]);
    expect((await t.execute({ events: [event] })).error).toBeUndefined();
  });
});
