/** The one spec that clicks through the screens themselves, from sign-up to a file in a container. */
import { expect, test, uniqueEmail, PASSWORD } from "./fixtures";

test("the health endpoint reports the database and the registered embedded engine", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(await response.json()).toMatchObject({
    ok: true,
    db: "up",
    engine: { mode: "embedded", ready: true, error: null },
  });
  expect(((await response.json()) as { engine: { functions: number } }).engine.functions).toBeGreaterThan(0);
});

test("sign up, create an org, invite a member, create a container and upload a file", async ({
  page,
  createPerson,
}) => {
  const email = uniqueEmail("owner");
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Olivia Owner");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.getByRole("heading", { name: "Create an organization", exact: true })).toBeVisible();
  await page.getByLabel("Organization name").fill("Acme Research");
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page.getByRole("heading", { name: "Containers", exact: true })).toBeVisible();
  await expect(page.getByText("No containers yet")).toBeVisible();

  // Invite one person who already has an account and one who does not yet.
  const existing = await createPerson("member");
  const future = uniqueEmail("future");
  await page.getByRole("link", { name: "Members" }).click();
  const invite = page.getByRole("form", { name: "Invite a member" });
  await invite.getByLabel("Email").fill(existing.email);
  await invite.getByRole("button", { name: "Invite" }).click();
  await expect(page.getByText(`${existing.email} is invited`)).toBeVisible();
  const existingLink = (await page.getByTestId("invite-link").textContent())!.trim();
  // Being invited adds nobody: they join by opening the link.
  await expect(page.getByRole("list", { name: "Members" }).getByText(existing.email)).toHaveCount(0);
  const memberPage = await existing.page();
  await memberPage.goto(existingLink);
  await memberPage.getByRole("button", { name: "Accept invitation" }).click();
  await expect(memberPage.getByRole("heading", { name: "Containers", exact: true })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("list", { name: "Members" }).getByText(existing.email)).toBeVisible();
  await invite.getByLabel("Email").fill(future);
  await invite.getByLabel("Role").selectOption("admin");
  await invite.getByRole("button", { name: "Invite" }).click();
  await expect(page.getByText(`${future} is invited`)).toBeVisible();
  await expect(page.getByRole("heading", { name: "Pending invitations", exact: true })).toBeVisible();

  await page.getByRole("link", { name: "Containers" }).click();
  await page.getByRole("button", { name: "New container" }).click();
  await page.getByLabel("Name").fill("Quarterly reports");
  await page.getByRole("button", { name: "Create container" }).click();
  await expect(page.getByRole("heading", { name: "Quarterly reports", exact: true })).toBeVisible();
  await expect(page.getByText("No files yet")).toBeVisible();

  await page
    .getByTestId("file-input")
    .setInputFiles({ name: "summary.md", mimeType: "text/markdown", buffer: Buffer.from("# Q3\nAll good.") });
  const row = page.getByRole("row", { name: /summary\.md/ });
  await expect(row).toBeVisible();
  await expect(row.getByText("Upload")).toBeVisible();
  await expect(row.getByText("Ready")).toBeVisible();
  await expect(row.getByText("14 B")).toBeVisible();

  await page.getByRole("link", { name: "Sources" }).click();
  await expect(page.getByText("Amazon S3")).toBeVisible();
  await expect(page.getByRole("button", { name: "Setup" })).toBeVisible();

  // The member joined but has no access to this container: it is not found for them.
  const containerUrl = page.url().replace(/\/sources$/, "");
  await memberPage.goto(containerUrl);
  await expect(memberPage.getByRole("heading", { name: "Not found", exact: true })).toBeVisible();
  await expect(memberPage.getByText("summary.md")).toHaveCount(0);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.goto(containerUrl);
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Quarterly reports", exact: true })).toBeVisible();
});
