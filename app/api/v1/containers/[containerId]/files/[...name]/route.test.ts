/**
 * The agent API route handler, called as Next calls it: a token acts with its creator's current rights.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { containerAccess, members } from "@/db/schema";
import { blobStore } from "@/server/blobs";
import { addMember, createContainer, createOrg, createToken, grantAccess, uploadFile } from "@/server/test/factories";
import { GET, PUT } from "./route";

function agentRequest(method: "GET" | "PUT", containerId: string, name: string, token: string, body?: string) {
  const request = new Request(`http://localhost/api/v1/containers/${containerId}/files/${name}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
    body,
  });
  return (method === "GET" ? GET : PUT)(request, { params: Promise.resolve({ containerId, name: name.split("/") }) });
}

/** An org whose Member `creator` has edit access to `container` and made a token for it, which works. */
async function tokenOfEditor() {
  const org = await createOrg();
  const container = await createContainer(org.id);
  const creator = await addMember(org.id, "member");
  await grantAccess(container.id, creator.id, "edit");
  const { token } = await createToken(container.id, { createdBy: creator.id });
  await uploadFile(container.id, { name: "notes.md", body: "# notes", blobs: blobStore() });
  expect((await agentRequest("GET", container.id, "notes.md", token)).status).toBe(200);
  return { org, container, creator, token };
}

async function expectRefused(containerId: string, token: string) {
  for (const method of ["GET", "PUT"] as const) {
    const res = await agentRequest(method, containerId, "notes.md", token, method === "PUT" ? "overwrite" : undefined);
    expect(res.status, `${method}: ${await res.clone().text()}`).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/creator no longer has edit access/);
  }
}

describe("agent tokens act with their creator's current rights", () => {
  it("a removed member's token is refused", async () => {
    const { org, container, creator, token } = await tokenOfEditor();
    await getDb().delete(members).where(and(eq(members.orgId, org.id), eq(members.userId, creator.id)));
    await expectRefused(container.id, token);
  });

  it("a member downgraded to view: the token is refused", async () => {
    const { container, creator, token } = await tokenOfEditor();
    await getDb()
      .update(containerAccess)
      .set({ level: "view" })
      .where(and(eq(containerAccess.containerId, container.id), eq(containerAccess.userId, creator.id)));
    await expectRefused(container.id, token);
  });

  it("a member who lost the container grant: the token is refused, and works again when it is given back", async () => {
    const { container, creator, token } = await tokenOfEditor();
    await getDb().delete(containerAccess).where(and(eq(containerAccess.containerId, container.id), eq(containerAccess.userId, creator.id)));
    await expectRefused(container.id, token);
    await grantAccess(container.id, creator.id, "edit");
    expect((await agentRequest("GET", container.id, "notes.md", token)).status).toBe(200);
  });

  it("an Admin demoted to Member without a grant: the token is refused", async () => {
    const org = await createOrg();
    const container = await createContainer(org.id);
    const admin = await addMember(org.id, "admin");
    const { token } = await createToken(container.id, { createdBy: admin.id });
    await uploadFile(container.id, { name: "notes.md", blobs: blobStore() });
    expect((await agentRequest("GET", container.id, "notes.md", token)).status).toBe(200);
    await getDb().update(members).set({ role: "member" }).where(and(eq(members.orgId, org.id), eq(members.userId, admin.id)));
    await expectRefused(container.id, token);
  });
});
