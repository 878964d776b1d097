/** The source state machine: the moves it allows, and writers held to them in the database. */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sources } from "@/db/schema";
import { createConnectorRow, createContainer, createOrg, db } from "@/server/test/factories";
import { canMove, moveSource, SOURCE_TRANSITIONS, sourceIs } from "./states";

describe("source states", () => {
  it("allows exactly the documented moves", () => {
    expect(SOURCE_TRANSITIONS).toEqual({
      pending: ["pending", "syncing", "error", "archived"],
      syncing: ["synced", "error", "pending", "archived"],
      synced: ["pending", "archived"],
      error: ["pending", "archived"],
      archived: [],
    });
    expect(canMove("synced", "syncing")).toBe(false);
    expect(canMove("archived", "pending")).toBe(false);
  });

  it("moves a source only from a status that leads to the target; archived is final", async () => {
    const org = await createOrg();
    const [container, connector] = await Promise.all([createContainer(org.id), createConnectorRow(org.id)]);
    const [source] = await db()
      .insert(sources)
      .values({ containerId: container.id, connectorId: connector.id, bucket: "b", prefix: "", status: "synced" })
      .returning();
    const status = async () =>
      (await db().select({ status: sources.status }).from(sources).where(eq(sources.id, source!.id)))[0]!.status;

    expect(await moveSource(db(), sourceIs(source!.id), "syncing")).toEqual([]); // synced → syncing skips Pending
    expect(await status()).toBe("synced");
    expect(await moveSource(db(), sourceIs(source!.id), "pending")).toHaveLength(1);
    expect(await moveSource(db(), sourceIs(source!.id), "synced", { from: ["syncing"] })).toEqual([]);
    expect(await moveSource(db(), sourceIs(source!.id), "archived")).toHaveLength(1);
    for (const to of ["pending", "syncing", "synced", "error"] as const)
      expect(await moveSource(db(), sourceIs(source!.id), to)).toEqual([]);
    expect(await status()).toBe("archived");
  });
});
