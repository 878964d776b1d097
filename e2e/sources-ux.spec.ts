/**
 * Sources and Files as a user meets them, against the real S3 server and engine: prefix help before Add,
 * Files live during a backfill, the Error pill's reason and advice in the row, buttons named with their
 * source, Sync now sending one request however fast it is pressed, and Files sorted by its headers.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { seriousViolations } from "./a11y";
import { expect, seedContainer, seedOrg, test, upload, type Person, type Trpc, seedConnector } from "./fixtures";
import { E2E_S3, e2eS3Endpoint } from "./s3";
import { s3AdminClient } from "../server/test/s3-admin";

const s3 = s3AdminClient(e2eS3Endpoint);

async function bucketWith(keys: string[]): Promise<string> {
  const bucket = `e2e-ux-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.from(`body of ${Key}`) }))),
    );
  }
  return bucket;
}

async function setup(createPerson: (label: string) => Promise<Person>) {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const api = owner.trpc;
  const connector = await seedConnector(owner, org);
  const container = await seedContainer(owner, org, "Synced docs");
  return { owner, org, api, connector, container };
}

async function waitForStatus(api: Trpc, containerId: string, where: string, status: string, timeout = 60_000) {
  await expect
    .poll(
      async () =>
        (await api.sources.list.query({ containerId })).find((s) => `${s.bucket}/${s.prefix}` === where)?.status,
      { timeout },
    )
    .toBe(status);
}

test("Add bucket flags an open-ended prefix with what else it matches, fixes it in one click, and counts objects", async ({
  createPerson,
}) => {
  test.setTimeout(120_000);
  const { owner, container } = await setup(createPerson);
  const bucket = await bucketWith([
    "reports/2026/q1.md",
    "reports/2026/q2.md",
    "reports/2026-old/q1.md",
    "reports/2026.csv",
    ...Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(5, "0")}.txt`),
  ]);
  const page = await owner.page();
  await page.goto(`${container.url}/sources`);
  await page.getByRole("button", { name: "Setup" }).click();
  const form = page.getByRole("form", { name: "Add bucket" });
  const preview = form.getByTestId("prefix-preview");
  await form.getByLabel("Bucket").fill(bucket);

  await form.getByLabel("Prefix (optional)").fill("reports/2026");
  await expect(preview).toContainText('"reports/2026" does not end in "/"');
  await expect(preview).toContainText("reports/2026-old/");
  await expect(preview).toContainText("reports/2026.csv");
  await expect(preview).toContainText('"reports/2026" holds 4 objects.');
  await form.getByRole("button", { name: "Use reports/2026/" }).click();
  await expect(form.getByLabel("Prefix (optional)")).toHaveValue("reports/2026/");
  await expect(preview).toContainText('"reports/2026/" holds 2 objects.');
  await expect(preview).not.toContainText("does not end in");
  await form.getByLabel("Prefix (optional)").fill("reports/2026");
  await expect(form.getByRole("button", { name: "Use reports/2026/" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // More than one listing page: a capped count.
  await form.getByLabel("Prefix (optional)").fill("many/");
  await expect(preview).toContainText('"many/" holds 1,000+ objects.');

  // Nothing there: a warning, and Add still works.
  await form.getByLabel("Prefix (optional)").fill("nothing-here/");
  await expect(preview.getByRole("status")).toContainText('"nothing-here/" holds no objects yet');
  await form.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("listitem", { name: `${bucket}/nothing-here/` })).toBeVisible();
});

test("Files fills in from a backfill without a reload", async ({ createPerson }) => {
  test.setTimeout(180_000);
  const { owner, api, connector, container } = await setup(createPerson);
  const page = await owner.page();
  await page.goto(container.url);
  await expect(page.getByText("No files yet")).toBeVisible();
  await api.sources.attach.mutate({
    containerId: container.id,
    connectorId: connector.id,
    bucket: E2E_S3.bucket,
    prefix: E2E_S3.bulk.prefix,
  });
  // The same page, never reloaded: rows arrive while the source syncs, until all of them are there.
  const total = page.getByText(/^1–25 of \d+$/);
  await expect(total).toBeVisible({ timeout: 60_000 });
  await expect(total).toHaveText(`1–25 of ${E2E_S3.bulk.count}`, { timeout: 120_000 });
});

test("an Error pill shows its reason beside it and advice for its cause in the row; buttons name their source; pills take focus", async ({
  createPerson,
}) => {
  test.setTimeout(120_000);
  const { owner, api, connector, container } = await setup(createPerson);
  const doomed = await bucketWith(["a.txt"]);
  await api.sources.attach.mutate({
    containerId: container.id,
    connectorId: connector.id,
    bucket: E2E_S3.bucket,
    prefix: "reports/",
  });
  await api.sources.attach.mutate({ containerId: container.id, connectorId: connector.id, bucket: doomed, prefix: "" });
  await waitForStatus(api, container.id, `${doomed}/`, "synced");
  await waitForStatus(api, container.id, `${E2E_S3.bucket}/reports/`, "synced");
  await s3.send(new DeleteObjectCommand({ Bucket: doomed, Key: "a.txt" }));
  await s3.send(new DeleteBucketCommand({ Bucket: doomed }));

  const page = await owner.page();
  await page.goto(`${container.url}/sources`);
  const broken = page.getByRole("listitem", { name: `${doomed}/` });
  const reports = page.getByRole("listitem", { name: `${E2E_S3.bucket}/reports/` });
  // One name per row's button.
  await broken.getByRole("button", { name: `Sync now the whole bucket from bucket ${doomed}` }).click();
  await expect(broken.getByTestId("source-pill")).toHaveText("Error", { timeout: 30_000 });
  await expect(page.getByRole("button", { name: `Sync now reports/ from bucket ${E2E_S3.bucket}` })).toHaveCount(1);
  await expect(page.getByRole("button", { name: `History of reports/ from bucket ${E2E_S3.bucket}` })).toHaveCount(1);

  // The reason sits beside the pill; pressing it opens the full reason and advice for a missing bucket.
  await expect(broken.getByTestId("source-error-reason")).toContainText(`The bucket "${doomed}" does not exist`);
  const details = broken.getByTestId("source-error-details");
  await expect(details).toBeHidden();
  const errorButton = broken.getByRole("button", { name: /^Error/ });
  await errorButton.focus();
  await expect(errorButton).toHaveAccessibleDescription(/bucket is gone/);
  await page.keyboard.press("Enter");
  await expect(errorButton).toHaveAttribute("aria-expanded", "true");
  await expect(details).toBeVisible();
  await expect(details).toContainText("The bucket is gone or was renamed");
  await expect(details).not.toContainText(/credentials/i);
  // In the page flow under its own row, not over the row above.
  const rowAbove = (await reports.boundingBox())!;
  const detailBox = (await details.boundingBox())!;
  expect(detailBox.y).toBeGreaterThanOrEqual(rowAbove.y + rowAbove.height);

  // A Synced pill is reachable by keyboard and carries its details.
  const synced = reports.getByTestId("source-pill").locator("..");
  await synced.focus();
  await expect(synced).toBeFocused();
  await expect(synced).toHaveAccessibleDescription(/last synced/);
  expect(await seriousViolations(page)).toEqual([]);
});

test("fifteen rapid presses of Sync now send one request", async ({ createPerson }) => {
  test.setTimeout(120_000);
  const { owner, api, connector, container } = await setup(createPerson);
  await api.sources.attach.mutate({
    containerId: container.id,
    connectorId: connector.id,
    bucket: E2E_S3.bucket,
    prefix: "reports/",
  });
  await waitForStatus(api, container.id, `${E2E_S3.bucket}/reports/`, "synced");
  const page = await owner.page();
  await page.goto(`${container.url}/sources`);
  const button = page.getByRole("button", { name: `Sync now reports/ from bucket ${E2E_S3.bucket}` });
  await expect(button).toBeEnabled();
  const requests: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("sources.syncNow")) requests.push(r.url());
  });
  const box = (await button.boundingBox())!;
  await pressRapidly(page, box.x + box.width / 2, box.y + box.height / 2, 15);
  // The manual run happens and ends, and the button takes presses again: only then is the count final.
  const sourceId = (await api.sources.list.query({ containerId: container.id }))[0]!.id;
  await expect
    .poll(
      async () =>
        (await api.sources.runs.query({ containerId: container.id, sourceId })).filter((r) => r.trigger === "manual")
          .length,
      { timeout: 60_000 },
    )
    .toBeGreaterThan(0);
  await waitForStatus(api, container.id, `${E2E_S3.bucket}/reports/`, "synced");
  await expect(button).toBeEnabled();
  expect(requests).toHaveLength(1);
  const runs = await api.sources.runs.query({ containerId: container.id, sourceId });
  expect(runs.filter((r) => r.trigger === "manual")).toHaveLength(1);
});

async function pressRapidly(page: Page, x: number, y: number, times: number) {
  for (let i = 0; i < times; i++) await page.mouse.click(x, y);
}

test("Files sorts by name, size, origin and date from its headers", async ({ createPerson }) => {
  const { owner, container } = await setup(createPerson);
  await upload(owner, container.id, "b.txt", "12345");
  await upload(owner, container.id, "a.txt", "1");
  await upload(owner, container.id, "c.txt", "123");
  const page = await owner.page();
  await page.goto(container.url);
  const table = page.getByRole("table", { name: "Files" });
  const names = () => table.getByRole("row").locator("td:first-child a").allTextContents();
  // Newest first by default (processing moves the dates, so only the header state is checked here).
  await expect(table.getByRole("columnheader", { name: /Updated/ })).toHaveAttribute("aria-sort", "descending");

  await table.getByRole("button", { name: "Name" }).click();
  await expect(table.getByRole("columnheader", { name: /Name/ })).toHaveAttribute("aria-sort", "ascending");
  await expect.poll(names).toEqual(["a.txt", "b.txt", "c.txt"]);
  await table.getByRole("button", { name: "Name" }).click();
  await expect(table.getByRole("columnheader", { name: /Name/ })).toHaveAttribute("aria-sort", "descending");
  await expect.poll(names).toEqual(["c.txt", "b.txt", "a.txt"]);

  await table.getByRole("button", { name: "Size" }).click();
  await expect(table.getByRole("columnheader", { name: /Name/ })).toHaveAttribute("aria-sort", "none");
  await expect.poll(names).toEqual(["a.txt", "c.txt", "b.txt"]);

  await table.getByRole("button", { name: "Origin" }).click();
  await expect(table.getByRole("columnheader", { name: /Origin/ })).toHaveAttribute("aria-sort", "ascending");
});

test("one name, one file: an overlapping source and an upload of a mirrored name are refused, naming the source", async ({
  createPerson,
}) => {
  test.setTimeout(120_000);
  const { owner, api, connector, container } = await setup(createPerson);
  await api.sources.attach.mutate({
    containerId: container.id,
    connectorId: connector.id,
    bucket: E2E_S3.bucket,
    prefix: "reports/",
  });
  await waitForStatus(api, container.id, `${E2E_S3.bucket}/reports/`, "synced");

  const page = await owner.page();
  await page.goto(`${container.url}/sources`);
  await page.getByRole("button", { name: "Edit" }).click();
  const form = page.getByRole("form", { name: "Add bucket" });
  await form.getByLabel("Bucket").fill(E2E_S3.bucket);
  await form.getByLabel("Prefix (optional)").fill("reports/2026/");
  await form.getByRole("button", { name: "Add" }).click();
  await expect(
    form.getByText(`This prefix overlaps the source ${E2E_S3.bucket}/reports/ already in this container`),
  ).toBeVisible();
  await expect(form.getByLabel("Prefix (optional)")).toHaveAttribute("aria-invalid", "true");
  expect((await api.sources.list.query({ containerId: container.id })).length).toBe(1);

  // The upload route the Files tab uses: a name the source mirrors belongs to it.
  const refused = await owner.api.post(`/api/containers/${container.id}/files`, {
    multipart: { file: { name: "reports/2026/q1.md", mimeType: "text/markdown", buffer: Buffer.from("# mine") } },
  });
  expect(refused.status()).toBe(409);
  expect(await refused.text()).toContain(`mirrored from the source ${E2E_S3.bucket}/reports/`);
});
