import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import lockfile from "proper-lockfile";
import { describe, expect, it } from "vitest";
import { env, parseEnv } from "@/server/env";
import { seal, unseal } from "./envelope";
import { AwsKmsProvider, createKmsProvider, KeyFileError, kmsProvider, LocalKmsProvider, regionOfKeyArn } from "./kms";
import { readKeyFile, tempDir, tempLocalKms } from "./test-helpers";

const context = { connectorId: "c1", orgId: "o1" };
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe("local key file", () => {
  it("is created on first use: file 0600, its directory 0700, the data dir 0755", async () => {
    const kms = tempLocalKms();
    const secretsDir = path.dirname(kms.file);
    const dataDir = path.dirname(secretsDir);
    expect(fs.existsSync(dataDir)).toBe(false);

    const kekId = await kms.currentKekId();
    expect(mode(kms.file)).toBe(0o600);
    expect(mode(secretsDir)).toBe(0o700);
    expect(mode(dataDir)).toBe(0o755);
    const file = readKeyFile(kms);
    expect(file.current).toBe(kekId);
    expect(Object.keys(file.keys)).toEqual([kekId]);
    expect(Buffer.from(file.keys[kekId]!, "base64")).toHaveLength(32);
    expect(fs.readdirSync(secretsDir)).toEqual(["kek.json"]); // no temporary files left behind

    // Later uses read the same key.
    expect(await new LocalKmsProvider(kms.file).currentKekId()).toBe(kekId);
  });

  it("refuses a key file readable by group or others, naming the file and the fix", async () => {
    const kms = tempLocalKms();
    const sealed = await seal({ password: "hunter2" }, context, kms);
    for (const loose of [0o640, 0o604, 0o660, 0o644]) {
      fs.chmodSync(kms.file, loose);
      const error = await kms.currentKekId().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyFileError);
      expect((error as Error).message).toContain(kms.file);
      expect((error as Error).message).toContain(`chmod 600 ${kms.file}`);
      await expect(unseal(sealed, context, kms)).rejects.toThrow(KeyFileError);
    }
    fs.chmodSync(kms.file, 0o600);
    expect(await unseal(sealed, context, kms)).toEqual({ password: "hunter2" });
  });

  it("refuses a corrupt key file without echoing its contents", async () => {
    const kms = tempLocalKms();
    await kms.currentKekId();
    fs.writeFileSync(kms.file, '{"current":"k1","keys":{"k1":"c2VjcmV0LWJ1dC1zaG9ydA=="}}');
    const invalid = (await kms.currentKekId().catch((e: unknown) => e)) as Error;
    expect(invalid.message).toMatch(/is not a Wire key file: keys\.k1 is not a base64 256-bit key/);
    expect(invalid.message).not.toContain("c2VjcmV0");
    fs.writeFileSync(kms.file, "{ not json c2VjcmV0");
    const error = (await kms.currentKekId().catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(`Key file ${kms.file} is not valid JSON`);
    expect(error.cause).toBeUndefined();
  });

  it("concurrent first use from many calls yields one key", async () => {
    const file = path.join(tempDir("kek-race"), "secrets", "kek.json");
    const providers = Array.from({ length: 16 }, () => new LocalKmsProvider(file));
    const ids = await Promise.all(providers.map((p) => p.currentKekId()));
    expect(new Set(ids).size).toBe(1);
    const keyFile = JSON.parse(fs.readFileSync(file, "utf8")) as { keys: Record<string, unknown> };
    expect(Object.keys(keyFile.keys)).toEqual([ids[0]]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["kek.json"]);
  });

  it("concurrent first use from separate processes yields one key", async () => {
    const file = path.join(tempDir("kek-procs"), "secrets", "kek.json");
    const root = path.resolve(import.meta.dirname, "../..");
    const startAt = Date.now() + 2500; // all processes are loaded by then and start creating together
    const script = [
      `import { LocalKmsProvider } from ${JSON.stringify(path.join(root, "server/crypto/kms.ts"))};`,
      `setTimeout(() => {`,
      `  new LocalKmsProvider(${JSON.stringify(file)}).currentKekId().then((id) => console.log(id));`,
      `}, ${startAt} - Date.now());`,
    ].join("\n");
    const tsx = path.join(root, "node_modules/.bin/tsx");
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        promisify(execFile)(tsx, ["--conditions=react-server", "--eval", script], {
          cwd: root,
          env: { ...process.env },
        }),
      ),
    );
    const ids = runs.map((r) => r.stdout.trim());
    expect(ids[0]).toMatch(/^k1-[0-9a-f]{8}$/);
    expect(new Set(ids).size).toBe(1);
    expect(Object.keys(readKeyFile(new LocalKmsProvider(file)).keys)).toEqual([ids[0]]);
  }, 30_000);

  it("rotation adds a key, makes it current and keeps the old ones", async () => {
    const kms = tempLocalKms();
    const first = await kms.currentKekId();
    const sealed = await seal({ a: "b" }, context, kms);
    const second = await kms.rotate();
    expect(second).toMatch(/^k2-/);
    expect(await kms.currentKekId()).toBe(second);
    expect(Object.keys(readKeyFile(kms).keys)).toEqual([first, second]);
    expect(mode(kms.file)).toBe(0o600);
    expect(await unseal(sealed, context, kms)).toEqual({ a: "b" });
    expect((await seal({ a: "b" }, context, kms)).kekId).toBe(second);
  });

  it("concurrent rotations lose no key", async () => {
    const kms = tempLocalKms();
    const first = await kms.currentKekId();
    const ids = await Promise.all(Array.from({ length: 5 }, () => new LocalKmsProvider(kms.file).rotate()));
    const keys = Object.keys(readKeyFile(kms).keys);
    expect(keys).toHaveLength(6);
    expect(keys.sort()).toEqual([first, ...ids].sort());
    expect(ids).toContain(readKeyFile(kms).current);
    expect(fs.readdirSync(path.dirname(kms.file))).toEqual(["kek.json"]);
  });

  it("a lock left by a dead process does not block rotation", async () => {
    const kms = tempLocalKms();
    await kms.currentKekId();
    // proper-lockfile's lock: a directory its live holder touches every 5 s; this one was last touched 11 s ago.
    const lock = `${kms.file}.lock`;
    fs.mkdirSync(lock);
    const past = new Date(Date.now() - 11_000);
    fs.utimesSync(lock, past, past);
    await expect(kms.rotate()).resolves.toMatch(/^k2-/);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("a lock a live process holds makes rotation wait for it", async () => {
    const kms = tempLocalKms();
    await kms.currentKekId();
    const release = await lockfile.lock(kms.file, { realpath: false });
    let rotated = false;
    const rotation = kms.rotate().then((id) => ((rotated = true), id));
    for (let i = 0; i < 5; i++) await kms.currentKekId(); // more file round trips than an unlocked rotation needs
    expect(rotated).toBe(false);
    expect(Object.keys(readKeyFile(kms).keys)).toHaveLength(1);
    await release();
    await expect(rotation).resolves.toMatch(/^k2-/);
    expect(fs.readdirSync(path.dirname(kms.file))).toEqual(["kek.json"]);
  });
});

describe("provider selection", () => {
  it("defaults to the local key file under WIRE_DATA_DIR/secrets, once per process", () => {
    const kms = kmsProvider();
    if (!(kms instanceof LocalKmsProvider)) expect.fail("not the local key file provider");
    expect(kms.file).toBe(path.join(env().dataDir, "secrets", "kek.json"));
    expect(kmsProvider()).toBe(kms);
  });

  it("honours WIRE_KEK_FILE", () => {
    const kms = createKmsProvider(parseEnv({ WIRE_DATA_DIR: "/tmp/x", WIRE_KEK_FILE: "/etc/wire/kek.json" }));
    if (!(kms instanceof LocalKmsProvider)) expect.fail("not the local key file provider");
    expect(kms.file).toBe("/etc/wire/kek.json");
  });

  it("picks AWS KMS when WIRE_KMS_AWS_KEY_ID is set, with the region from the ARN unless given", async () => {
    const arn = "arn:aws:kms:eu-west-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const fromArn = createKmsProvider(parseEnv({ WIRE_KMS_AWS_KEY_ID: arn }));
    if (!(fromArn instanceof AwsKmsProvider)) expect.fail("not the AWS KMS provider");
    expect(fromArn.name).toBe("aws-kms");
    expect(await fromArn.currentKekId()).toBe(arn);
    expect(await fromArn.client.config.region()).toBe("eu-west-3");
    const explicit = createKmsProvider(
      parseEnv({ WIRE_KMS_AWS_KEY_ID: "alias/wire", WIRE_KMS_AWS_REGION: "ap-south-1" }),
    );
    if (!(explicit instanceof AwsKmsProvider)) expect.fail("not the AWS KMS provider");
    expect(await explicit.client.config.region()).toBe("ap-south-1");
    expect(regionOfKeyArn("alias/wire")).toBeUndefined();
  });
});
