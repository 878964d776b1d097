import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { users } from "@/db/schema";
import { createOrganization, listOrganizationsOf, slugify } from ".";

describe("organizations", () => {
  it("slugifies names", () => {
    expect(slugify("Acme Corp!")).toBe("acme-corp");
    expect(slugify("Ünïcödé")).toBe("unicode");
    expect(slugify("***")).toBe("org");
  });

  it("makes the creator the Owner", async () => {
    const db = getDb();
    const id = crypto.randomUUID();
    await db.insert(users).values({ id, name: "A", email: `${id}@example.test` });
    const org = await createOrganization(db, { userId: id, name: "Acme" });
    expect(await listOrganizationsOf(db, id)).toEqual([{ id: org.id, name: "Acme", slug: org.slug, role: "owner" }]);
  });
});
