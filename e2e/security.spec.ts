/**
 * Pages carry the security headers and still work under their CSP; a same-site cross-origin form post with
 * the victim's cookie plants nothing; malformed paths are client errors.
 */
import type { Page } from "@playwright/test";
import { expect, seedContainer, seedOrg, test } from "./fixtures";

function watchCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to (execute|load|apply)/i.test(message.text()))
      violations.push(message.text());
  });
  return violations;
}

test("pages carry CSP with a nonce, frame-ancestors 'none', nosniff and Referrer-Policy, and run under it", async ({
  createPerson,
}) => {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const page = await owner.page();
  const violations = watchCspViolations(page);

  for (const path of ["/sign-in", `/o/${org.slug}/containers`]) {
    const response = (await page.goto(path))!;
    const headers = response.headers();
    const csp = headers["content-security-policy"] ?? "";
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce, `${path}: ${csp}`).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    // Every script Next rendered carries this request's nonce (browsers expose it only as the property).
    const scriptNonces = await page
      .locator("script")
      .evaluateAll((scripts) => scripts.map((s) => (s as HTMLScriptElement).nonce));
    expect(scriptNonces.length).toBeGreaterThan(0);
    expect(new Set(scriptNonces)).toEqual(new Set([nonce]));
  }
  // A fresh nonce per request.
  const first = (await page.goto("/sign-in"))!.headers()["content-security-policy"];
  const second = (await page.goto("/sign-in"))!.headers()["content-security-policy"];
  expect(first).not.toBe(second);

  // The app still runs: a client-side interaction works (the new-container dialog is React state).
  await page.goto(`/o/${org.slug}/containers`);
  await page
    .getByRole("button", { name: /new container/i })
    .first()
    .click();
  await expect(page.getByRole("dialog")).toBeVisible();
  expect(violations).toEqual([]);
});

test("a form post from another origin of the same site cannot plant a file with the victim's cookie", async ({
  createPerson,
  baseURL,
}) => {
  const victim = await createPerson("victim");
  const org = await seedOrg(victim);
  const container = await seedContainer(victim, org, "Target");
  const page = await victim.page();

  // The attacker's page on another port of the same host (same site): served by Playwright, no server needed.
  const attacker = new URL(baseURL!);
  attacker.port = String(Number(attacker.port) + 1000);
  await page.route(`${attacker.origin}/**`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<form id="f" method="post" enctype="multipart/form-data" action="${baseURL}/api/containers/${container.id}/files">
        <input type="file" name="file" id="file"></form>
        <script>
          const dt = new DataTransfer();
          dt.items.add(new File(["planted"], "planted.txt", { type: "text/plain" }));
          document.getElementById("file").files = dt.files;
          document.getElementById("f").submit();
        </script>`,
    }),
  );
  const posted = page.waitForResponse(
    (r) => r.url().endsWith(`/api/containers/${container.id}/files`) && r.request().method() === "POST",
  );
  await page.goto(`${attacker.origin}/attack.html`);
  const response = await posted;
  expect(response.status()).toBe(403);

  const files = await victim.trpc.files.list.query({ containerId: container.id, page: 1, pageSize: 10 });
  expect(files.items.map((f) => f.name)).not.toContain("planted.txt");
});

test("malformed percent-encoding in a path is a 400, not a 500", async ({ request }) => {
  const id = "00000000-0000-4000-8000-000000000000";
  for (const path of [
    `/api/v1/containers/${id}/files/bad%E0%A4%A.md`,
    `/api/v1/containers/${id}/files/%zz`,
    "/o/%E0%A4%A/containers",
  ]) {
    const response = await request.get(path, { headers: { Authorization: "Bearer wire_x" } });
    expect(response.status(), path).toBe(400);
  }
});
