import { describe, expect, it } from "vitest";
import { POST } from "./route";

describe("tRPC route", () => {
  it("refuses a mutation posted from another origin of the same site before any procedure runs", async () => {
    const res = await POST(
      new Request("http://localhost:3000/api/trpc/organizations.create", {
        method: "POST",
        headers: { origin: "http://localhost:4000", "content-type": "text/plain" },
        body: JSON.stringify({ json: { name: "Planted org" } }),
      }),
    );
    expect(res.status).toBe(403);
  });
});
