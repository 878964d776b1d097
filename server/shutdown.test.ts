/**
 * The server process owns what it starts: SIGTERM stops the embedded PostgreSQL with it, and the data dir it
 * prepares is private. A real child process booted as instrumentation.ts boots the app.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { dataDirMode } from "./data-dir";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}

it("SIGTERM stops the embedded PostgreSQL; the data dir is private", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-shutdown-"));
  fs.chmodSync(dataDir, 0o755); // as an older version left it
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXT_RUNTIME: "nodejs",
    WIRE_DATA_DIR: dataDir,
    WIRE_EMBEDDED_PG_PORT: String(await freePort()),
    INNGEST_DEV: "1",
  };
  delete env.DATABASE_URL;
  const child = spawn(
    process.execPath,
    [
      "--conditions=react-server",
      "--import",
      "tsx",
      "-e",
      "await (await import('./instrumentation.ts')).register(); console.log('BOOTED')",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => String(d).includes("BOOTED") && resolve());
      void exited.then(() => reject(new Error(`child exited before booting: ${stderr}`)));
    });
    const pid = Number(fs.readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
    expect(alive(pid)).toBe(true);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(dataDirMode());

    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(await until(() => !alive(pid), 20_000)).toBe(true);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    const leftover = path.join(dataDir, "postgres", "postmaster.pid");
    if (fs.existsSync(leftover)) {
      const pid = Number(fs.readFileSync(leftover, "utf8").split("\n")[0]);
      if (alive(pid)) process.kill(pid, "SIGINT");
      await until(() => !alive(pid), 20_000);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
