/** An editor creates an API token; an agent writes and reads files with it, and only in that container. */
import { expect, seedContainer, seedOrg, test } from "./fixtures";

test("an agent writes a file with a container API token", async ({ createPerson, request }) => {
  const owner = await createPerson("owner");
  const org = await seedOrg(owner);
  const container = await seedContainer(owner, org, "Agent notes");
  const other = await seedContainer(owner, org, "Elsewhere");

  const page = await owner.page();
  await page.goto(`${container.url}/access`);
  await page.getByRole("button", { name: "New token" }).click();
  await page.getByLabel("Token name").fill("research-bot");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("api-token").textContent())!.trim();
  expect(token).toMatch(/^wire_/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByText("research-bot")).toBeVisible();

  const auth = { Authorization: `Bearer ${token}` };
  const path = `/api/v1/containers/${container.id}/files/findings/week 1.md`;
  const written = await request.put(path, {
    headers: { ...auth, "content-type": "text/markdown" },
    data: "# Findings",
  });
  expect(written.status()).toBe(200);
  expect(await (await request.get(path, { headers: auth })).text()).toBe("# Findings");
  expect((await request.put(path, { data: "no token" })).status()).toBe(401);
  expect((await request.put(`/api/v1/containers/${other.id}/files/x.md`, { headers: auth, data: "x" })).status()).toBe(
    404,
  );

  await page.goto(container.url);
  const row = page.getByRole("row", { name: /findings\/week 1\.md/ });
  await expect(row.getByText("Agent")).toBeVisible();

  // Revoked tokens stop working at once.
  await page.goto(`${container.url}/access`);
  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByText("No API tokens")).toBeVisible();
  expect((await request.get(path, { headers: auth })).status()).toBe(401);
});

test("500 agent writes, 20 at a time, are all Ready within a minute while the app stays healthy", async ({
  createPerson,
  request,
}) => {
  const owner = await createPerson("burst");
  const org = await seedOrg(owner);
  const container = await seedContainer(owner, org, "Burst");
  const api = owner.trpc;
  const { token } = await api.apiTokens.create.mutate({ containerId: container.id, name: "bulk-writer" });
  const auth = { Authorization: `Bearer ${token}`, "content-type": "text/markdown" };

  const started = Date.now();
  const names = Array.from({ length: 500 }, (_, i) => `burst/note-${String(i).padStart(3, "0")}.md`);
  for (let i = 0; i < names.length; i += 20) {
    const statuses = await Promise.all(
      names.slice(i, i + 20).map(async (name) =>
        (
          await request.put(`/api/v1/containers/${container.id}/files/${name}`, {
            headers: auth,
            data: `# ${name}\n\nA note written by an agent in a burst.`,
          })
        ).status(),
      ),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
  }

  const ready = async () => {
    let count = 0;
    for (let page = 1; page <= 5; page++) {
      const { items } = await api.files.list.query({
        containerId: container.id,
        search: "burst/",
        page,
        pageSize: 100,
      });
      count += items.filter((f) => f.status === "ready").length;
    }
    return count;
  };
  await expect.poll(ready, { timeout: 60_000 - (Date.now() - started), intervals: [1000] }).toBe(500);
  expect((await request.get("/api/health")).status()).toBe(200);
});
