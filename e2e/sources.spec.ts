/**
 * The seed walkthrough on a container's Sources tab, against a real S3 server and the app's embedded
 * engine: attach (Pending → Syncing → Synced), files appear, a change at the source and Sync now, an Error
 * pill with its explanation, detach. Screenshots of each pill state are saved as artifacts.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Page, TestInfo } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { expect, seedContainer, seedOrg, test, upload, seedConnector } from "./fixtures";
import { E2E_S3, e2eS3Endpoint } from "./s3";
import { s3AdminClient } from "../server/test/s3-admin";

const s3 = s3AdminClient(e2eS3Endpoint);

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

test("attach a bucket, watch it sync, change a file, see an error, detach", async ({ createPerson }, testInfo) => {
  test.setTimeout(180_000);
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const api = owner.trpc;
  const connector = await seedConnector(owner, org);
  const container = await seedContainer(owner, org, "Synced docs");
  await upload(owner, container.id, "mine.txt", "uploaded by hand");

  const page = await owner.page();
  await page.goto(`${container.url}/sources`);
  await page.getByRole("button", { name: "Setup" }).click();
  const form = page.getByRole("form", { name: "Add bucket" });
  await expect(form.getByLabel("Connector")).toHaveValue(connector.id);

  // A bad prefix-less bucket name is refused before anything is saved.
  await form.getByLabel("Bucket").fill("no-such-bucket");
  await form.getByRole("button", { name: "Add" }).click();
  await expect(form.getByLabel("Bucket")).toHaveAttribute("aria-invalid", "true");

  // A large prefix: its backfill stays in Syncing for a while.
  await form.getByLabel("Bucket").fill(E2E_S3.bucket);
  await form.getByLabel("Prefix (optional)").fill("bulk/");
  await form.getByRole("button", { name: "Add" }).click();
  const bulk = page.getByRole("listitem", { name: `${E2E_S3.bucket}/bulk/` });
  await expect(bulk.getByTestId("source-pill")).toHaveText("Syncing", { timeout: 20_000 });
  await expect(bulk.getByText(/\d+ listed · \d+ processed/)).toBeVisible();
  await screenshot(page, testInfo, "pill-syncing");

  // A second source queues behind the running backfill (one engine worker in this run): Pending.
  await page.getByRole("button", { name: "Edit" }).click();
  await form.getByLabel("Bucket").fill(E2E_S3.bucket);
  await form.getByLabel("Prefix (optional)").fill("reports/");
  await form.getByRole("button", { name: "Add" }).click();
  const reports = page.getByRole("listitem", { name: `${E2E_S3.bucket}/reports/` });
  await expect(reports.getByTestId("source-pill")).toHaveText("Pending");
  await screenshot(page, testInfo, "pill-pending");

  await expect(reports.getByTestId("source-pill")).toHaveText("Synced", { timeout: 90_000 });
  await expect(bulk.getByTestId("source-pill")).toHaveText("Synced", { timeout: 90_000 });
  await expect(reports.getByText(/last synced/)).toBeVisible();
  await screenshot(page, testInfo, "pill-synced");

  // Files from the source appear, marked with where they came from; the upload is still there.
  await page.getByRole("link", { name: "Files" }).click();
  await page.getByLabel("Search files by name").fill("reports/2026");
  const q1 = page.getByRole("row", { name: /reports\/2026\/q1\.md/ });
  await expect(q1).toContainText("Connector");
  await expect(q1).toContainText(`${E2E_S3.bucket}/reports/`);
  await expect(q1).toContainText("Ready");
  await page.getByLabel("Search files by name").fill("mine.txt");
  await expect(page.getByRole("row", { name: /mine\.txt/ })).toContainText("Upload");

  // Change a file at the source, Sync now, and the container has the new version.
  await s3.send(
    new PutObjectCommand({
      Bucket: E2E_S3.bucket,
      Key: "reports/2026/q1.md",
      Body: "# Q1\nRevenue restated.",
      ContentType: "text/markdown",
    }),
  );
  await page.getByRole("link", { name: "Sources" }).click();
  await reports.getByRole("button", { name: "Sync now" }).click();
  await expect(reports.getByTestId("source-pill")).toHaveText("Synced", { timeout: 30_000 });
  await expect
    .poll(
      async () => {
        const list = await api.files.list.query({ containerId: container.id, search: "reports/2026/q1.md" });
        const file = list.items[0];
        return file ? (await owner.api.get(`/api/containers/${container.id}/files/${file.id}`)).text() : null;
      },
      { timeout: 30_000 },
    )
    .toBe("# Q1\nRevenue restated.");
  await reports.getByRole("button", { name: "History" }).click();
  await expect(reports.getByRole("table", { name: "Sync runs" }).getByText("Manual")).toBeVisible();

  // A bucket that disappears at the source: the next sync shows Error, its reason beside it, and on press
  // the full reason with what to do.
  const doomed = `e2e-doomed-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: doomed }));
  await s3.send(new PutObjectCommand({ Bucket: doomed, Key: "a.txt", Body: "a" }));
  await page.getByRole("button", { name: "Edit" }).click();
  await form.getByLabel("Bucket").fill(doomed);
  await form.getByLabel("Prefix (optional)").fill("");
  await form.getByRole("button", { name: "Add" }).click();
  const broken = page.getByRole("listitem", { name: `${doomed}/` });
  await expect(broken.getByTestId("source-pill")).toHaveText("Synced", { timeout: 60_000 });
  await s3.send(new DeleteObjectCommand({ Bucket: doomed, Key: "a.txt" }));
  await s3.send(new DeleteBucketCommand({ Bucket: doomed }));
  await broken.getByRole("button", { name: "Sync now" }).click();
  await expect(broken.getByTestId("source-pill")).toHaveText("Error", { timeout: 30_000 });
  await broken.getByRole("button", { name: /^Error/ }).click();
  await expect(broken.getByTestId("source-error-details")).toContainText(/bucket/i);
  await screenshot(page, testInfo, "pill-error");

  // Detach: the row goes at once, its files go in the background, the upload stays.
  await page.getByRole("button", { name: "Edit" }).click();
  await reports.getByRole("button", { name: `Detach ${E2E_S3.bucket}/reports/` }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Detach" }).click();
  await expect(reports).toHaveCount(0);
  await expect
    .poll(async () => (await api.files.list.query({ containerId: container.id, search: "reports/2026" })).total, {
      timeout: 30_000,
    })
    .toBe(0);
  expect((await api.files.list.query({ containerId: container.id, search: "mine.txt" })).total).toBe(1);
});
