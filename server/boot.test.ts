/**
 * A server that cannot boot stops, naming the setting to fix, instead of staying up answering 500.
 */
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";

it.each([
  ["WIRE_ENGINE_WORKERS", "0"],
  ["WIRE_ENGINE_APP_URL", "not a url"],
])("exits at start when %s is %j, naming it", (name, value) => {
  const result = spawnSync(
    process.execPath,
    ["--conditions=react-server", "--import", "tsx", "-e", "await (await import('./instrumentation.ts')).register()"],
    {
      env: { ...process.env, NEXT_RUNTIME: "nodejs", [name]: value },
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("Wire could not start");
  expect(result.stderr).toContain(name);
});
