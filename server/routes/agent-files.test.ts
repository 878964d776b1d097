/**
 * The agent API route handler, called as Next calls it: a token acts with its creator's current rights.
 */
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { containerAccess, members } from "@/db/schema";
import { blobStore } from "@/server/blobs";
import { addMember, createContainer, createOrg, createToken, grantAccess, uploadFile } from "@/server/test/factories";
import { generatedBody, measureRssGrowth } from "@/server/test/streams";
import { getAgentFile as GET, putAgentFile as PUT } from "./agent-files";

function leftoverUploads(): string[] {
  const dir = path.join(process.env.WIRE_DATA_DIR!, "tmp");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

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
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /creator no longer has edit access/,
    );
  }
}

describe("agent tokens act with their creator's current rights", () => {
  it("a removed member's token is refused", async () => {
    const { org, container, creator, token } = await tokenOfEditor();
    await getDb()
      .delete(members)
      .where(and(eq(members.orgId, org.id), eq(members.userId, creator.id)));
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
    await getDb()
      .delete(containerAccess)
      .where(and(eq(containerAccess.containerId, container.id), eq(containerAccess.userId, creator.id)));
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
    await getDb()
      .update(members)
      .set({ role: "member" })
      .where(and(eq(members.orgId, org.id), eq(members.userId, admin.id)));
    await expectRefused(container.id, token);
  });
});

describe("agent PUT size limit", () => {
  it("refuses a chunked 60 MB body without Content-Length as it reads, with RSS growth under 10 MB", async () => {
    const org = await createOrg();
    const container = await createContainer(org.id);
    const { token } = await createToken(container.id, { createdBy: org.owner.id });
    // One small write first, so code loaded on first use and the database pool are not counted.
    expect((await agentRequest("PUT", container.id, "warm-up.txt", token, "warm")).status).toBe(200);
    const { result: res, growth } = await measureRssGrowth((sample) => {
      const request = new Request(`http://localhost/api/v1/containers/${container.id}/files/big.bin`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body: generatedBody(60 * 1024 * 1024, { onPull: sample }),
        duplex: "half",
      } as RequestInit);
      expect(request.headers.get("content-length")).toBeNull();
      return PUT(request, { params: Promise.resolve({ containerId: container.id, name: ["big.bin"] }) });
    });
    console.info(`agent PUT 60 MB chunked: ${res.status}, RSS growth ${(growth / 1024 / 1024).toFixed(1)} MB`);
    expect(res.status).toBe(413);
    expect(growth).toBeLessThan(10 * 1024 * 1024);
    // Nothing was stored and no temporary file is left behind.
    expect((await agentRequest("GET", container.id, "big.bin", token)).status).toBe(404);
    expect(leftoverUploads()).toEqual([]);
  });

  it("reads a 40 MB file back as a stream: what it holds alive grows by under 20 MB", async () => {
    const org = await createOrg();
    const container = await createContainer(org.id);
    const { token } = await createToken(container.id, { createdBy: org.owner.id });
    const size = 40 * 1024 * 1024;
    const put = new Request(`http://localhost/api/v1/containers/${container.id}/files/large.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: generatedBody(size),
      duplex: "half",
    } as RequestInit);
    const written = await PUT(put, { params: Promise.resolve({ containerId: container.id, name: ["large.bin"] }) });
    expect(written.status).toBe(200);
    // Garbage (chunks already sent) is collected before each sample: what is measured is what the read keeps
    // alive (heap and buffers), not what the allocator has yet to give back.
    v8.setFlagsFromString("--expose-gc");
    const collect = vm.runInNewContext("gc") as () => void;
    const live = () => {
      collect();
      const { heapUsed, external } = process.memoryUsage();
      return heapUsed + external;
    };
    const before = live();
    let peak = before;

    const res = await agentRequest("GET", container.id, "large.bin", token);
    expect(res.headers.get("content-length")).toBe(String(size));
    const reader = res.body!.getReader();
    let received = 0;
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      received += read.value.byteLength;
      if (received % (4 * 1024 * 1024) < read.value.byteLength) peak = Math.max(peak, live());
    }
    const growth = (peak - before) / (1024 * 1024);
    console.info(`agent GET 40 MB: memory held alive grew ${growth.toFixed(1)} MB`);
    expect(received).toBe(size);
    expect(growth).toBeLessThan(20); // held whole (the copy, and the response's copy of it): 120 MB
  });

  it("still writes a file under the limit, streamed", async () => {
    const org = await createOrg();
    const container = await createContainer(org.id);
    const { token } = await createToken(container.id, { createdBy: org.owner.id });
    const request = new Request(`http://localhost/api/v1/containers/${container.id}/files/mid.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: generatedBody(3 * 1024 * 1024 + 5),
      duplex: "half",
    } as RequestInit);
    const res = await PUT(request, { params: Promise.resolve({ containerId: container.id, name: ["mid.bin"] }) });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { size: number }).size).toBe(3 * 1024 * 1024 + 5);
    const read = await agentRequest("GET", container.id, "mid.bin", token);
    expect((await read.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024 + 5);
    expect(leftoverUploads()).toEqual([]);
  });
});
