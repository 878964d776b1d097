/** Organization → Connectors against a real S3 server (s3rver), as an Admin and as a Member. */
import { randomUUID } from "node:crypto";
import type { Page, TestInfo } from "@playwright/test";
import { expect, seedOrg, test, type Org, type Person } from "./fixtures";
import { E2E_S3, e2eS3Endpoint } from "./s3";

const SECRET = `e2e-secret-${randomUUID()}`;
const SESSION = `e2e-session-${randomUUID()}`;

/** Saved under test-results/ and attached to the report, as an artifact of the run. */
async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

async function fillConnectorForm(page: Page, values: { label: string; accessKeyId: string; bucket?: string }) {
  const form = page.getByRole("form", { name: "Add connector" });
  await form.getByLabel("Provider").selectOption("minio");
  await form.getByLabel("Label").fill(values.label);
  await form.getByLabel("Endpoint").fill(e2eS3Endpoint);
  await form.getByLabel("Region").fill("us-east-1");
  await form.getByLabel("Access key ID").fill(values.accessKeyId);
  await form.getByLabel("Secret access key").fill(SECRET);
  await form.getByLabel("Session token (optional)").fill(SESSION);
  await form.getByLabel("Test bucket").fill(values.bucket ?? E2E_S3.bucket);
  return form;
}

test.describe("connectors", () => {
  let admin: Person;
  let member: Person;
  let org: Org;

  test.beforeEach(async ({ createPerson }) => {
    const owner = await createPerson("owner");
    [admin, member] = await Promise.all([createPerson("admin"), createPerson("member")]);
    org = await seedOrg(owner, [
      [admin, "admin"],
      [member, "member"],
    ]);
  });

  // eslint-disable-next-line no-empty-pattern -- Playwright reads fixtures from a destructured first parameter; this test uses none
  test("an Admin adds a connector, sees wrong credentials refused, re-tests and disconnects", async ({}, testInfo) => {
    const page = await admin.page();
    await page.goto(`/o/${org.slug}/connectors`);
    await expect(page.getByText("No connectors yet")).toBeVisible();
    await page.getByRole("link", { name: "Add connector" }).click();

    // Wrong credentials: the error sits next to the access key, and nothing is stored.
    const form = await fillConnectorForm(page, { label: "Wrong keys", accessKeyId: "NOT-THE-KEY" });
    await form.getByRole("button", { name: "Connect" }).click();
    const accessKey = form.getByLabel("Access key ID");
    await expect(accessKey).toHaveAttribute("aria-invalid", "true");
    await expect(form.getByRole("alert").filter({ hasText: /access key/i })).toBeVisible();
    await screenshot(page, testInfo, "connector-form-error");
    expect(await admin.trpc.connectors.list.query({ orgId: org.id })).toEqual([]);

    // A bucket that does not exist is reported on the bucket field.
    await form.getByLabel("Access key ID").fill("S3RVER");
    await form.getByLabel("Test bucket").fill("no-such-bucket");
    await form.getByRole("button", { name: "Connect" }).click();
    await expect(form.getByLabel("Test bucket")).toHaveAttribute("aria-invalid", "true");

    await form.getByLabel("Label").fill("Research bucket");
    await form.getByLabel("Test bucket").fill(E2E_S3.bucket);
    await form.getByRole("button", { name: "Connect" }).click();
    await expect(page.getByRole("heading", { name: "Research bucket", exact: true })).toBeVisible();
    await expect(page.getByText("Active", { exact: true })).toBeVisible();

    await page.getByRole("button", { name: "Re-test" }).click();
    await expect(page.getByText("The credentials work.")).toBeVisible();
    const log = page.getByRole("table", { name: "Credential access log" });
    await expect(log.getByText("re-test connector")).toBeVisible();
    await expect(log.getByText(admin.email)).toBeVisible();

    // Neither the rendered pages nor anything the browser received holds the secret or the session token.
    for (const url of [page.url(), `/o/${org.slug}/connectors`]) {
      await page.goto(url);
      await expect(page.getByText("Research bucket").first()).toBeVisible();
      const html = await page.content();
      const raw = await (await admin.api.get(url)).text();
      for (const text of [html, raw]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(SESSION);
      }
    }
    await screenshot(page, testInfo, "connectors-list");

    await page.getByRole("link", { name: "Research bucket" }).click();
    await page.getByRole("button", { name: "Disconnect" }).click();
    const dialog = page.getByRole("alertdialog");
    await expect(dialog).toContainText("credentials are wiped");
    await dialog.getByRole("button", { name: "Disconnect" }).click();
    await expect(page.getByText("Disconnected", { exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Re-test" })).toHaveCount(0);
  });

  test("the minimal IAM policy follows the bucket and prefix typed", async () => {
    const page = await admin.page();
    await page.goto(`/o/${org.slug}/connectors/new`);
    await page.getByRole("region", { name: "Minimal IAM policy" }).getByLabel("Bucket").fill("acme-reports");
    await page.getByRole("region", { name: "Minimal IAM policy" }).getByLabel("Prefix").fill("reports/2026/");
    const policy = JSON.parse((await page.getByTestId("iam-policy").textContent())!) as { Statement: unknown };
    expect(policy.Statement).toEqual([
      { Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::acme-reports/reports/2026/*" },
      {
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: "arn:aws:s3:::acme-reports",
        Condition: { StringLike: { "s3:prefix": ["reports/2026/*"] } },
      },
    ]);
  });

  test("a Member sees the list but cannot add, re-test or disconnect", async () => {
    await admin.trpc.connectors.create.mutate({
      orgId: org.id,
      label: "Shared bucket",
      provider: "minio",
      endpoint: e2eS3Endpoint,
      region: "us-east-1",
      accessKeyId: "S3RVER",
      secretAccessKey: SECRET,
      testBucket: E2E_S3.bucket,
    });
    const page = await member.page();
    await page.goto(`/o/${org.slug}/connectors`);
    const row = page.getByRole("row", { name: /Shared bucket/ });
    await expect(row).toContainText("MinIO");
    await expect(row).toContainText(E2E_S3.bucket);
    await expect(row).toContainText("Active");
    await expect(page.getByRole("link", { name: "Add connector" })).toHaveCount(0);
    await row.getByRole("link", { name: "Shared bucket" }).click();
    await expect(page.getByRole("heading", { name: "Shared bucket", exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Re-test" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Disconnect" })).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "Credential access log" })).toHaveCount(0);
    await page.goto(`/o/${org.slug}/connectors/new`);
    await expect(page).toHaveURL(new RegExp(`/o/${org.slug}/connectors$`));
  });
});
