/**
 * The pages a user meets, at a phone's width (390 × 844) and a laptop's (1280 × 800): no sideways page scroll,
 * the navigation behind a Menu button on the phone, every action on screen, the Files table whole at 1280 px,
 * and no serious or critical axe-core violations. Screenshots of each page at each size go to test-results/.
 */
import type { Locator, Page, TestInfo } from "@playwright/test";
import { seriousViolations } from "./a11y";
import { expect, seedContainer, seedOrg, test, upload, type Org, type Person, seedConnector } from "./fixtures";
import { E2E_S3 } from "./s3";

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

/** The page itself never scrolls sideways (tables scroll inside their own box). */
async function expectNoPageOverflow(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, "the page scrolls sideways").toBeLessThanOrEqual(innerWidth);
}

/** The control is on screen horizontally once scrolled to: nothing is cut off at the right edge. */
async function expectReachable(page: Page, control: Locator) {
  await control.scrollIntoViewIfNeeded();
  await expect(control).toBeVisible();
  const box = (await control.boundingBox())!;
  const width = page.viewportSize()!.width;
  expect(box.x, "starts left of the screen").toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, "ends right of the screen").toBeLessThanOrEqual(width);
}

interface World {
  owner: Person;
  org: Org;
  container: { id: string; url: string };
}

async function seed(createPerson: (label: string) => Promise<Person>): Promise<World> {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const api = owner.trpc;
  const connector = await seedConnector(owner, org);
  const old = await seedConnector(owner, org, "Old bucket");
  await api.connectors.disconnect.mutate({ orgId: org.id, connectorId: old.id });
  const container = await seedContainer(owner, org, "Quarterly research");
  // A long name and a long content type: the cells that used to push the Files table past the screen.
  await upload(
    owner,
    container.id,
    `minutes/${"very-long-meeting-notes-name-".repeat(4)}final.docx`,
    "notes",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  );
  await upload(owner, container.id, "notes.txt", "short");
  await api.sources.attach.mutate({
    containerId: container.id,
    connectorId: connector.id,
    bucket: E2E_S3.bucket,
    prefix: "reports/",
  });
  await expect
    .poll(async () => (await api.sources.list.query({ containerId: container.id }))[0]?.status, { timeout: 60_000 })
    .toBe("synced");
  return { owner, org, container };
}

for (const viewport of [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
]) {
  const phone = viewport.width < 768;
  test(`Connectors, Add connector, Sources, Files and Access at ${viewport.width} × ${viewport.height}`, async ({
    createPerson,
  }, testInfo) => {
    test.setTimeout(120_000);
    const { owner, org, container } = await seed(createPerson);
    const page = await owner.page();
    await page.setViewportSize(viewport);
    const size = `${viewport.width}`;

    // Connectors.
    await page.goto(`/o/${org.slug}/connectors`);
    await expect(page.getByRole("row", { name: /Team bucket/ })).toBeVisible();
    const menu = page.getByRole("button", { name: "Open navigation menu" });
    if (phone) {
      await expect(page.getByRole("navigation", { name: "Organization" })).toBeHidden();
      await menu.focus();
      await page.keyboard.press("Enter");
      const drawer = page.getByRole("dialog", { name: "Navigation" });
      await expect(drawer.getByRole("link", { name: "Connectors" })).toHaveAttribute("aria-current", "page");
      await screenshot(page, testInfo, `navigation-open-${size}`);
      await page.keyboard.press("Escape");
      await expect(drawer).toBeHidden();
      await expect(menu).toBeFocused();
    } else {
      await expect(menu).toBeHidden();
      await expect(page.getByRole("navigation", { name: "Organization" })).toBeVisible();
    }
    await expectReachable(page, page.getByRole("link", { name: "Add connector" }));
    await expectReachable(page, page.getByRole("button", { name: "Remove Old bucket from the list" }));
    await expectNoPageOverflow(page);
    await screenshot(page, testInfo, `connectors-${size}`);
    expect(await seriousViolations(page)).toEqual([]);

    // Add connector.
    await page.getByRole("link", { name: "Add connector" }).click();
    await expect(page.getByRole("form", { name: "Add connector" })).toBeVisible();
    await expectReachable(page, page.getByRole("button", { name: "Connect" }));
    await expectNoPageOverflow(page);
    await screenshot(page, testInfo, `add-connector-${size}`);
    expect(await seriousViolations(page)).toEqual([]);

    // Sources, with the Add bucket form and a run history open.
    if (phone) {
      await menu.click();
      await page.getByRole("dialog", { name: "Navigation" }).getByRole("link", { name: "Containers" }).click();
      await expect(page.getByRole("dialog", { name: "Navigation" })).toBeHidden();
      await page.getByRole("link", { name: /Quarterly research/ }).click();
      await page.getByRole("link", { name: "Sources" }).click();
    } else {
      await page.goto(`${container.url}/sources`);
    }
    const source = page.getByRole("listitem", { name: `${E2E_S3.bucket}/reports/` });
    await expect(source.getByTestId("source-pill")).toHaveText("Synced");
    await expectReachable(page, source.getByRole("button", { name: `Sync now reports/ from bucket ${E2E_S3.bucket}` }));
    await expectReachable(
      page,
      source.getByRole("button", { name: `History of reports/ from bucket ${E2E_S3.bucket}` }),
    );
    await source.getByRole("button", { name: /^History of/ }).click();
    await expect(source.getByRole("table", { name: "Sync runs" })).toBeVisible();
    await expectReachable(page, page.getByRole("button", { name: "Edit" }));
    await page.getByRole("button", { name: "Edit" }).click();
    await expectReachable(page, page.getByRole("form", { name: "Add bucket" }).getByRole("button", { name: "Add" }));
    await expectReachable(page, source.getByRole("button", { name: `Detach ${E2E_S3.bucket}/reports/` }));
    await expectNoPageOverflow(page);
    await screenshot(page, testInfo, `sources-${size}`);
    expect(await seriousViolations(page)).toEqual([]);

    // Files: every row's actions on screen; at 1280 px the table fits whole, Actions header included.
    await page.getByRole("link", { name: "Files" }).click();
    const table = page.getByRole("table", { name: "Files" });
    await expect(table.getByRole("row", { name: /final\.docx/ })).toBeVisible();
    await expectReachable(page, page.getByRole("button", { name: "Upload files" }));
    await expectReachable(page, page.getByRole("button", { name: "Delete notes.txt" }));
    await expectReachable(page, page.getByRole("button", { name: /^Delete minutes\// }));
    await expectNoPageOverflow(page);
    if (!phone) {
      const scroller = page.getByTestId("table-scroll");
      const fits = await scroller.evaluate((el) => el.scrollWidth <= el.clientWidth);
      expect(fits, "the Files table is wider than its box at 1280 px").toBe(true);
      const actions = (await table.getByRole("columnheader", { name: "Actions" }).boundingBox())!;
      const box = (await scroller.boundingBox())!;
      expect(actions.x + actions.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
    }
    await screenshot(page, testInfo, `files-${size}`);
    expect(await seriousViolations(page)).toEqual([]);

    // Access.
    await page.getByRole("link", { name: "Access" }).click();
    await expect(page.getByRole("heading", { name: "Agent API tokens", exact: true })).toBeVisible();
    await expectReachable(page, page.getByRole("button", { name: "New token" }));
    await expectReachable(page, page.getByRole("button", { name: "Delete container" }));
    await expectNoPageOverflow(page);
    await screenshot(page, testInfo, `access-${size}`);
    expect(await seriousViolations(page)).toEqual([]);
  });
}

test("a disconnected connector is removed from the list after confirming; its access log stays", async ({
  createPerson,
}) => {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const api = owner.trpc;
  const connector = await seedConnector(owner, org, "Retired bucket");
  await api.connectors.retest.mutate({ orgId: org.id, connectorId: connector.id });
  const page = await owner.page();
  await page.goto(`/o/${org.slug}/connectors`);
  // Only disconnected connectors can go.
  await expect(page.getByRole("button", { name: "Remove Retired bucket from the list" })).toHaveCount(0);
  await api.connectors.disconnect.mutate({ orgId: org.id, connectorId: connector.id });
  await page.reload();
  await page.getByRole("button", { name: "Remove Retired bucket from the list" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("access log is kept");
  await dialog.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByRole("row", { name: /Retired bucket/ })).toHaveCount(0);
  await expect(page.getByText("No connectors yet")).toBeVisible();
  const log = await api.connectors.accessLog.query({ orgId: org.id, connectorId: connector.id });
  expect(log.map((r) => r.purpose)).toContain("re-test connector");
});
