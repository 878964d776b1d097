import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { apiTokens, containerAccess, containers, files } from "@/db/schema";
import { recordingEvents } from "@/server/test/events";
import { expectAppError, expectTRPCError } from "@/server/test/expect";
import {
  addMember,
  callerFor,
  createContainer as seedContainer,
  createOrg,
  createToken,
  grantAccess,
  tempBlobStore,
  uploadFile,
} from "@/server/test/factories";
import { createContainer, deleteContainer, getContainer, listContainers, updateContainer } from ".";
import { listContainerAccess, setContainerAccess } from "./access";

const db = () => getDb();

describe("creating containers", () => {
  it("gives a Member who creates a container an edit grant on it", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    const container = await createContainer(db(), {
      orgId: org.id,
      userId: member.id,
      role: "member",
      name: "Mine",
      description: "",
    });
    expect(container).toMatchObject({ orgId: org.id, name: "Mine", createdBy: member.id });
    const grants = await db().select().from(containerAccess).where(eq(containerAccess.containerId, container.id));
    expect(grants.map((g) => [g.userId, g.level])).toEqual([[member.id, "edit"]]);
    // …so they can use it right away through the API, at edit level.
    await expect(callerFor(member).containers.get({ containerId: container.id })).resolves.toMatchObject({
      level: "edit",
    });
  });

  it("gives Owners and Admins no grant: they manage every container anyway", async () => {
    const org = await createOrg();
    const admin = await addMember(org.id, "admin");
    const [byOwner, byAdmin] = await Promise.all([
      callerFor(org.owner).containers.create({ orgId: org.id, name: "  Owner's  ", description: "" }),
      callerFor(admin).containers.create({ orgId: org.id, name: "Admin's", description: "d" }),
    ]);
    expect(byOwner.name).toBe("Owner's"); // trimmed by the input schema
    for (const c of [byOwner, byAdmin]) {
      expect(await db().select().from(containerAccess).where(eq(containerAccess.containerId, c.id))).toEqual([]);
    }
    await expect(callerFor(admin).containers.get({ containerId: byOwner.id })).resolves.toMatchObject({
      level: "manage",
    });
  });
});

describe("listing containers", () => {
  it("shows Owners and Admins every container, Members only the ones they are granted, with their level", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    const admin = await addMember(org.id, "admin");
    const member = await addMember(org.id, "member");
    const [alpha, beta, gamma] = await Promise.all([
      seedContainer(org.id, { name: "Alpha" }),
      seedContainer(org.id, { name: "Beta" }),
      seedContainer(org.id, { name: "Gamma" }),
      seedContainer(other.id, { name: "Elsewhere" }),
    ]);
    await Promise.all([grantAccess(alpha.id, member.id, "view"), grantAccess(gamma.id, member.id, "edit")]);
    await Promise.all([uploadFile(alpha.id), uploadFile(alpha.id), uploadFile(gamma.id)]);

    const asOwner = await listContainers(db(), { orgId: org.id, userId: org.owner.id, role: "owner" });
    expect(asOwner.map((c) => [c.name, c.level, c.fileCount])).toEqual([
      ["Alpha", "manage", 2],
      ["Beta", "manage", 0],
      ["Gamma", "manage", 1],
    ]);
    const asAdmin = await callerFor(admin).containers.list({ orgId: org.id });
    expect(asAdmin.map((c) => c.id)).toEqual([alpha.id, beta.id, gamma.id]);

    const asMember = await callerFor(member).containers.list({ orgId: org.id });
    expect(asMember.map((c) => [c.name, c.level, c.fileCount])).toEqual([
      ["Alpha", "view", 2],
      ["Gamma", "edit", 1],
    ]);
  });

  it("shows a Member without grants nothing", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    await seedContainer(org.id);
    expect(await listContainers(db(), { orgId: org.id, userId: member.id, role: "member" })).toEqual([]);
  });
});

describe("container access", () => {
  it("grants, changes and removes a Member's access", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    const container = await seedContainer(org.id);
    const params = { orgId: org.id, containerId: container.id, userId: member.id };

    await setContainerAccess(db(), { ...params, level: "view" });
    await setContainerAccess(db(), { ...params, level: "edit" });
    let access = await listContainerAccess(db(), { orgId: org.id, containerId: container.id });
    expect(access.map((a) => [a.userId, a.level]).sort()).toEqual(
      [
        [org.owner.id, "manage"],
        [member.id, "edit"],
      ].sort(),
    );

    await setContainerAccess(db(), { ...params, level: null });
    access = await listContainerAccess(db(), { orgId: org.id, containerId: container.id });
    expect(access.find((a) => a.userId === member.id)?.level).toBeNull();
    await expectTRPCError(callerFor(member).containers.get({ containerId: container.id }), "NOT_FOUND");
  });

  it("refuses grants for Owners and Admins (BAD_REQUEST)", async () => {
    const org = await createOrg();
    const admin = await addMember(org.id, "admin");
    const container = await seedContainer(org.id);
    for (const userId of [org.owner.id, admin.id]) {
      const error = await expectAppError(
        setContainerAccess(db(), { orgId: org.id, containerId: container.id, userId, level: "view" }),
        "BAD_REQUEST",
      );
      expect(error.field).toBe("userId");
    }
    await expectTRPCError(
      callerFor(org.owner).containers.access.set({ containerId: container.id, userId: admin.id, level: "edit" }),
      "BAD_REQUEST",
    );
    expect(await db().select().from(containerAccess).where(eq(containerAccess.containerId, container.id))).toEqual([]);
  });

  it("refuses grants for people who are not members of the org (NOT_FOUND)", async () => {
    const [org, other] = await Promise.all([createOrg(), createOrg()]);
    const container = await seedContainer(org.id);
    await expectAppError(
      setContainerAccess(db(), { orgId: org.id, containerId: container.id, userId: other.owner.id, level: "view" }),
      "NOT_FOUND",
    );
    await expectTRPCError(
      callerFor(org.owner).containers.access.set({ containerId: container.id, userId: "no-such-user", level: "view" }),
      "NOT_FOUND",
    );
    expect(await db().select().from(containerAccess).where(eq(containerAccess.containerId, container.id))).toEqual([]);
  });
});

describe("updating and deleting containers", () => {
  it("updates name and description", async () => {
    const org = await createOrg();
    const container = await seedContainer(org.id, { name: "Old" });
    const updated = await updateContainer(db(), {
      containerId: container.id,
      name: "New",
      description: "Now described",
    });
    expect(updated).toMatchObject({ id: container.id, name: "New", description: "Now described" });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(container.updatedAt.getTime());
    await expectAppError(
      updateContainer(db(), { containerId: crypto.randomUUID(), name: "x", description: "" }),
      "NOT_FOUND",
    );
  });

  it("deletes the container's file rows, tokens and grants, asks for its stored copies to go, and keeps other containers", async () => {
    const org = await createOrg();
    const member = await addMember(org.id, "member");
    const { store } = tempBlobStore();
    const [doomed, kept] = await Promise.all([seedContainer(org.id), seedContainer(org.id)]);
    await Promise.all([
      uploadFile(doomed.id, { name: "a.txt", blobs: store }),
      uploadFile(doomed.id, { name: "b/c.txt", blobs: store }),
    ]);
    const keptFile = await uploadFile(kept.id, { name: "a.txt", blobs: store });
    await Promise.all([grantAccess(doomed.id, member.id, "edit"), createToken(doomed.id, { createdBy: org.owner.id })]);
    const events = recordingEvents();

    await deleteContainer(db(), events, { containerId: doomed.id });

    await expectAppError(getContainer(db(), doomed.id), "NOT_FOUND");
    expect(await db().select().from(files).where(eq(files.containerId, doomed.id))).toEqual([]);
    expect(await db().select().from(containerAccess).where(eq(containerAccess.containerId, doomed.id))).toEqual([]);
    expect(await db().select().from(apiTokens).where(eq(apiTokens.containerId, doomed.id))).toEqual([]);
    expect(events.sent).toEqual([{ name: "wire/container.deleted", data: { containerId: doomed.id, orgId: org.id } }]);
    expect(await db().select({ id: files.id }).from(files).where(eq(files.containerId, kept.id))).toEqual([
      { id: keptFile.id },
    ]);
    expect(await db().select({ id: containers.id }).from(containers).where(eq(containers.id, kept.id))).toEqual([
      { id: kept.id },
    ]);

    await expectAppError(deleteContainer(db(), events, { containerId: doomed.id }), "NOT_FOUND");
    expect(events.sent).toHaveLength(1);
  });

  it("deletes through the API and emits the event", async () => {
    const org = await createOrg();
    const container = await seedContainer(org.id);
    const events = recordingEvents();
    await callerFor(org.owner, { events }).containers.delete({ containerId: container.id });
    expect(events.sent.map((e) => e.name)).toEqual(["wire/container.deleted"]);
    await expectTRPCError(callerFor(org.owner).containers.get({ containerId: container.id }), "NOT_FOUND");
  });
});
