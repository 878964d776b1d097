/** Managing members: Owners change roles and remove people; Admins invite; Members only look. */
import { expect, seedOrg, test } from "./fixtures";

test("an Owner changes roles and removes members, and cannot leave the org without an Owner", async ({
  createPerson,
}) => {
  const owner = await createPerson("owner");
  const member = await createPerson("member");
  const org = await seedOrg(owner, [[member, "member"]]);
  const page = await owner.page();
  await page.goto(`/o/${org.slug}/members`);

  await page.getByLabel(`Role of ${owner.email}`).selectOption("member");
  await expect(page.getByRole("alert").filter({ hasText: "must keep at least one Owner" })).toBeVisible();
  await expect(page.getByLabel(`Role of ${owner.email}`)).toHaveValue("owner");

  await page.getByLabel(`Role of ${member.email}`).selectOption("admin");
  await expect(page.getByLabel(`Role of ${member.email}`)).toHaveValue("admin");
  await page.reload();
  await expect(page.getByLabel(`Role of ${member.email}`)).toHaveValue("admin");

  await page.getByRole("listitem").filter({ hasText: member.email }).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Remove member" }).click();
  await expect(page.getByRole("list", { name: "Members" }).getByText(member.email)).toHaveCount(0);
  const removedPage = await member.page();
  await removedPage.goto(`/o/${org.slug}/containers`);
  await expect(removedPage.getByRole("heading", { name: "Not found", exact: true })).toBeVisible();
});

for (const role of ["admin", "member"] as const) {
  test(`${role === "admin" ? "an Admin" : "a Member"} cannot change roles or remove people`, async ({
    createPerson,
  }) => {
    const owner = await createPerson("owner");
    const person = await createPerson(role);
    const org = await seedOrg(owner, [[person, role]]);
    const page = await person.page();
    await page.goto(`/o/${org.slug}/members`);
    await expect(page.getByRole("list", { name: "Members" }).getByText(owner.email)).toBeVisible();
    await expect(page.getByRole("combobox", { name: /Role of/ })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Remove" })).toHaveCount(0);
    // Admins may invite (but not Owners); Members may not invite at all.
    const invite = page.getByRole("form", { name: "Invite a member" });
    if (role === "admin") {
      await expect(invite.getByLabel("Role").locator("option")).toHaveText(["Admin", "Member"]);
    } else {
      await expect(invite).toHaveCount(0);
    }
  });
}
