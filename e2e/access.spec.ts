/** Who can open a container and what they can do there; every denied caller is tried. */
import fs from "node:fs";
import path from "node:path";
import { expect, grant, seedContainer, seedOrg, test, upload, type Person } from "./fixtures";

test.describe("container access", () => {
  let owner: Person;
  let admin: Person;
  let editor: Person;
  let viewer: Person;
  let noAccess: Person;
  let outsider: Person;
  let container: { id: string; url: string };

  test.beforeEach(async ({ createPerson }) => {
    [owner, admin, editor, viewer, noAccess, outsider] = await Promise.all([
      createPerson("owner"),
      createPerson("admin"),
      createPerson("editor"),
      createPerson("viewer"),
      createPerson("noaccess"),
      createPerson("outsider"),
    ]);
    const org = await seedOrg(owner, [
      [admin, "admin"],
      [editor, "member"],
      [viewer, "member"],
      [noAccess, "member"],
    ]);
    await seedOrg(outsider);
    container = await seedContainer(owner, org, "Contracts");
    await grant(owner, container.id, editor, "edit");
    await grant(owner, container.id, viewer, "view");
    await upload(owner, container.id, "nda.txt", "confidential");
  });

  for (const denied of ["noAccess", "outsider"] as const) {
    test(`${denied} cannot open the container, list its files or upload to it`, async () => {
      const person = denied === "noAccess" ? noAccess : outsider;
      const page = await person.page();
      for (const path of ["", "/sources", "/access"]) {
        await page.goto(container.url + path);
        await expect(page.getByRole("heading", { name: "Not found", exact: true })).toBeVisible();
        await expect(page.getByText("nda.txt")).toHaveCount(0);
      }
      await expect(person.trpc.files.list.query({ containerId: container.id })).rejects.toMatchObject({
        data: { httpStatus: 404 },
      });
      const uploadAttempt = await person.api.post(`/api/containers/${container.id}/files`, {
        multipart: { file: { name: "x.txt", mimeType: "text/plain", buffer: Buffer.from("x") } },
      });
      expect(uploadAttempt.status()).toBe(404);
    });
  }

  test("anonymous visitors are sent to sign in", async ({ page }) => {
    await page.goto(container.url);
    await expect(page).toHaveURL(/\/sign-in\?next=/);
  });

  test("a viewer sees and downloads the files but cannot upload, delete or manage access", async () => {
    const page = await viewer.page();
    await page.goto(container.url);
    await expect(page.getByRole("row", { name: /nda\.txt/ })).toBeVisible();
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "nda.txt" }).click();
    const saved = await download;
    expect(saved.suggestedFilename()).toBe("nda.txt");
    expect(fs.readFileSync(await saved.path()).toString()).toBe("confidential");
    await expect(page.getByRole("button", { name: "Upload files" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /Delete/ })).toHaveCount(0);
    await page.getByRole("link", { name: "Access" }).click();
    await expect(page.getByText("You can view this container.")).toBeVisible();
    await expect(page.getByRole("heading", { name: "People", exact: true })).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "Agent API tokens", exact: true })).toHaveCount(0);
    const attempt = await viewer.api.post(`/api/containers/${container.id}/files`, {
      multipart: { file: { name: "x.txt", mimeType: "text/plain", buffer: Buffer.from("x") } },
    });
    expect(attempt.status()).toBe(403);
  });

  test("a file uploaded while the list's first load is on its way shows once it loads", async () => {
    const page = await editor.page();
    // The list's first answer is computed before the upload and delivered after it: a slow connection's race.
    let answered!: () => void;
    let release!: () => void;
    const listAnswered = new Promise<void>((resolve) => (answered = resolve));
    const uploadDone = new Promise<void>((resolve) => (release = resolve));
    await page.route(
      (url) => url.pathname.startsWith("/api/trpc/") && url.pathname.includes("files.list"),
      async (route) => {
        const response = await route.fetch();
        answered();
        await uploadDone;
        await route.fulfill({ response });
      },
      { times: 1 },
    );
    await page.goto(container.url);
    await listAnswered;
    const posted = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/files"));
    await page
      .getByTestId("file-input")
      .setInputFiles({ name: "late.txt", mimeType: "text/plain", buffer: Buffer.from("late") });
    expect((await posted).status()).toBe(201);
    release();
    await expect(page.getByRole("row", { name: /late\.txt/ })).toBeVisible();
  });

  test("an editor uploads and deletes files but does not manage people", async () => {
    const page = await editor.page();
    await page.goto(container.url);
    await page
      .getByTestId("file-input")
      .setInputFiles({ name: "draft.txt", mimeType: "text/plain", buffer: Buffer.from("v1") });
    await expect(page.getByRole("row", { name: /draft\.txt/ })).toBeVisible();
    await page.getByRole("button", { name: "Delete draft.txt" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete file" }).click();
    await expect(page.getByRole("row", { name: /draft\.txt/ })).toHaveCount(0);
    await page.getByRole("link", { name: "Access" }).click();
    await expect(page.getByText("You can edit this container.")).toBeVisible();
    await expect(page.getByRole("heading", { name: "People", exact: true })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Delete container" })).toHaveCount(0);
  });

  test("an admin grants a member access on the Access tab, and the member can then open it", async () => {
    const page = await admin.page();
    await page.goto(`${container.url}/access`);
    await page.getByLabel(`Access for ${noAccess.email}`).selectOption("view");
    await expect(page.getByLabel(`Access for ${noAccess.email}`)).toHaveValue("view");
    const memberPage = await noAccess.page();
    await memberPage.goto(container.url);
    await expect(memberPage.getByRole("row", { name: /nda\.txt/ })).toBeVisible();
  });
});

test("an Owner deletes a container; its stored copies are removed in the background by the engine", async ({
  createPerson,
}) => {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const container = await seedContainer(owner, org, "Short-lived");
  await upload(owner, container.id, "temp.txt", "bye");
  const blobDir = path.join(".data/e2e/blobs/containers", container.id);
  expect(fs.existsSync(blobDir)).toBe(true);

  const page = await owner.page();
  await page.goto(`${container.url}/access`);
  await page.getByRole("button", { name: "Delete container" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete container" }).click();
  await expect(page.getByRole("heading", { name: "Containers", exact: true })).toBeVisible();
  await expect(page.getByText("Short-lived")).toHaveCount(0);
  await expect.poll(() => fs.existsSync(blobDir), { timeout: 15_000 }).toBe(false);
});
