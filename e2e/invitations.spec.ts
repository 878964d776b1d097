/** Invitations need proof of the address: the invite link, not an account with the invited email. */
import { expect, PASSWORD, seedOrg, test, uniqueEmail } from "./fixtures";

test("signing up with an invited address grants nothing; the invite link does, once", async ({
  createPerson,
  browser,
  baseURL,
}) => {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const ownerPage = await owner.page();
  await ownerPage.goto(`/o/${org.slug}/members`);
  const invited = uniqueEmail("new-admin");
  const form = ownerPage.getByRole("form", { name: "Invite a member" });
  await form.getByLabel("Email").fill(invited);
  await form.getByLabel("Role").selectOption("admin");
  await form.getByRole("button", { name: "Invite" }).click();
  await expect(ownerPage.getByText(`${invited} is invited`)).toBeVisible();
  const link = (await ownerPage.getByTestId("invite-link").textContent())!.trim();
  expect(link).toContain("/invite/");

  // Someone signs up with the invited address (another letter case) without the link: not a member.
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  const signUp = await page.request.post("/api/auth/sign-up/email", {
    data: { email: invited.toUpperCase(), name: "Newcomer", password: PASSWORD },
  });
  expect(signUp.ok()).toBe(true);
  await page.goto(`/o/${org.slug}/containers`);
  await expect(page.getByRole("heading", { name: "Not found", exact: true })).toBeVisible();

  // The same person opens the link: it names the org and role, and accepting makes them Admin.
  await page.goto(link);
  await expect(page.getByText(`as Admin`)).toBeVisible();
  await page.getByRole("button", { name: "Accept invitation" }).click();
  await expect(page.getByRole("heading", { name: "Containers", exact: true })).toBeVisible();
  await ownerPage.reload();
  await expect(ownerPage.getByLabel(`Role of ${invited}`)).toHaveValue("admin");

  // A link works once.
  await page.goto(link);
  await expect(page.getByText("This invitation link does not work")).toBeVisible();
  await context.close();
});

test("an invite link opened while signed out leads through sign-up and back, and refuses another account", async ({
  createPerson,
  browser,
  baseURL,
}) => {
  const owner = await createPerson("owner");
  const stranger = await createPerson("stranger");
  const org = await seedOrg(owner);
  const invited = uniqueEmail("teammate");
  const ownerPage = await owner.page();
  await ownerPage.goto(`/o/${org.slug}/members`);
  const form = ownerPage.getByRole("form", { name: "Invite a member" });
  await form.getByLabel("Email").fill(invited);
  await form.getByRole("button", { name: "Invite" }).click();
  const link = (await ownerPage.getByTestId("invite-link").textContent())!.trim();

  // Another account cannot use it.
  const strangerPage = await stranger.page();
  await strangerPage.goto(link);
  await expect(strangerPage.getByText(`Sign out and sign in with ${invited} to accept`)).toBeVisible();
  await expect(strangerPage.getByRole("button", { name: "Accept invitation" })).toBeDisabled();

  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Teammate");
  await page.getByLabel("Email").fill(invited);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Accept invitation" }).click();
  await expect(page.getByRole("heading", { name: "Containers", exact: true })).toBeVisible();
  await context.close();
});
