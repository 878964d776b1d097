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

describe("organization slugs", () => {
  it("gives a second org with the same name a different slug", async () => {
    const db = getDb();
    const id = crypto.randomUUID();
    await db.insert(users).values({ id, name: "B", email: `${id}@example.test` });
    const name = `Same ${id.slice(0, 8)}`;
    const first = await createOrganization(db, { userId: id, name });
    const second = await createOrganization(db, { userId: id, name });
    expect(first.slug).toBe(slugify(name));
    expect(second.slug).toMatch(new RegExp(`^${slugify(name)}-[0-9a-f]{6}$`));
  });

  it("creates orgs with the same name at the same moment without failing", async () => {
    const db = getDb();
    const ids = Array.from({ length: 5 }, () => crypto.randomUUID());
    await db.insert(users).values(ids.map((id) => ({ id, name: "C", email: `${id}@example.test` })));
    const name = `Race ${ids[0]!.slice(0, 8)}`;
    const orgs = await Promise.all(ids.map((userId) => createOrganization(db, { userId, name })));
    expect(new Set(orgs.map((o) => o.slug)).size).toBe(ids.length);
    expect(orgs.map((o) => o.slug)).toContain(slugify(name));
  });
});
