/**
 * The browser upload route, called as Next calls it, with a real session cookie from better-auth.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, beforeAll } from "vitest";
import { and, eq } from "drizzle-orm";
import { getDb } from "@/db/client";
import { files } from "@/db/schema";
import { getAuth } from "@/server/auth";
import { createOrganization } from "@/server/services/organizations";
import { createContainer, uniqueEmail } from "@/server/test/factories";
import { generatedBody, measureRssGrowth } from "@/server/test/streams";
import { downloadContainerFile as GET, uploadContainerFiles as POST } from "./container-files";

const ORIGIN = "http://localhost:3000"; // WIRE_PUBLIC_URL's default, the app's origin in tests
const BOUNDARY = "----wire-test-boundary";

let cookie: string;
let containerId: string;

/** A new user's session cookie. */
async function signedUp(name: string): Promise<string> {
  const res = await getAuth().api.signUpEmail({
    body: { email: uniqueEmail(name), password: "a fine password", name },
    asResponse: true,
  });
  return res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

beforeAll(async () => {
  cookie = await signedUp("uploader");
  const session = await getAuth().api.getSession({ headers: new Headers({ cookie }) });
  const org = await createOrganization(getDb(), { userId: session!.user.id, name: "Uploads" });
  containerId = (await createContainer(org.id)).id;
});

function part(name: string, contentType = "application/octet-stream") {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${contentType}\r\n\r\n`;
}

function upload(
  body: BodyInit | ReadableStream<Uint8Array>,
  options: { container?: string; headers?: Record<string, string> } = {},
) {
  const container = options.container ?? containerId;
  const request = new Request(`${ORIGIN}/api/containers/${container}/files`, {
    method: "POST",
    headers: {
      cookie,
      origin: ORIGIN,
      "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
      ...options.headers,
    },
    body,
    duplex: "half",
  } as RequestInit);
  return POST(request, { params: Promise.resolve({ containerId: container }) });
}

function leftoverUploads(): string[] {
  const dir = path.join(process.env.WIRE_DATA_DIR!, "tmp");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe("browser upload", () => {
  it("stores the files of a multipart upload", async () => {
    const res = await upload(
      `${part("a.txt", "text/plain")}hello\r\n${part("notes/b.md", "text/markdown")}# b\r\n--${BOUNDARY}--\r\n`,
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const { files } = (await res.json()) as { files: { name: string; size: number }[] };
    // Folder names in file names are kept, as they were with formData().
    expect(files.map((f) => [f.name, f.size])).toEqual([
      ["a.txt", 5],
      ["notes/b.md", 3],
    ]);
    expect(leftoverUploads()).toEqual([]);
  });

  it("refuses a 60 MB file without Content-Length as it reads, with RSS growth under 10 MB", async () => {
    const { result: res, growth } = await measureRssGrowth((sample) =>
      upload(
        generatedBody(60 * 1024 * 1024, { prefix: part("big.bin"), suffix: `\r\n--${BOUNDARY}--\r\n`, onPull: sample }),
      ),
    );
    console.info(`browser upload 60 MB chunked: ${res.status}, RSS growth ${(growth / 1024 / 1024).toFixed(1)} MB`);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("file");
    expect(growth).toBeLessThan(10 * 1024 * 1024);
    expect(leftoverUploads()).toEqual([]);
  });

  it("refuses a same-site cross-origin form post carrying the victim's cookie, and stores nothing", async () => {
    const form = `${part("planted.txt", "text/plain")}planted\r\n--${BOUNDARY}--\r\n`;
    // Another port of the same host: same site, so a SameSite=Lax cookie goes along.
    const otherPort = await upload(form, {
      headers: { origin: "http://localhost:3001", "sec-fetch-site": "same-site" },
    });
    expect(otherPort.status).toBe(403);
    const subdomain = await upload(form, { headers: { origin: "http://evil.localhost:3000" } });
    expect(subdomain.status).toBe(403);
    // No Origin, but the browser says where it came from.
    const noOrigin = new Headers({
      cookie,
      "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
      "sec-fetch-site": "same-site",
    });
    const res = await POST(
      new Request(`${ORIGIN}/api/containers/${containerId}/files`, { method: "POST", headers: noOrigin, body: form }),
      {
        params: Promise.resolve({ containerId }),
      },
    );
    expect(res.status).toBe(403);
    const names = (
      await getDb().select({ name: files.name }).from(files).where(eq(files.containerId, containerId))
    ).map((f) => f.name);
    expect(names).not.toContain("planted.txt");
  });

  it("answers 404 for a container id that is not a UUID, and 400 for a body that is not multipart", async () => {
    expect((await upload("x", { container: "not-a-uuid" })).status).toBe(404);
    expect((await upload("x", { headers: { "content-type": "text/plain" } })).status).toBe(400);
  });
});

describe("browser download", () => {
  function download(fileId: string, as = cookie) {
    return GET(new Request(`${ORIGIN}/api/containers/${containerId}/files/${fileId}`, { headers: { cookie: as } }), {
      params: Promise.resolve({ containerId, fileId }),
    });
  }

  it("sends the stored copy as an attachment with its length; a user of another organization gets nothing", async () => {
    const res = await upload(`${part("report.txt", "text/plain")}hello report\r\n--${BOUNDARY}--\r\n`);
    expect(res.status).toBe(201);
    const [file] = await getDb()
      .select()
      .from(files)
      .where(and(eq(files.containerId, containerId), eq(files.name, "report.txt")));
    const sent = await download(file!.id);
    expect(sent.status).toBe(200);
    expect(sent.headers.get("content-length")).toBe("12");
    expect(sent.headers.get("content-disposition")).toMatch(/^attachment;.*report\.txt/);
    expect(await sent.text()).toBe("hello report");

    const outsider = await signedUp("outsider");
    const refused = await download(file!.id, outsider);
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toContain("hello report");
    expect((await download(file!.id, "")).status).toBe(401);
  });
});
