/**
 * The default provider: versioned 256-bit keys in a file outside the database, WIRE_DATA_DIR/secrets/kek.json
 * (or WIRE_KEK_FILE), created on first use with 0600 permissions. A data key is wrapped with AES-256-GCM under
 * the current KEK, with the encryption context as additional authenticated data.
 */
import "server-only";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { defined } from "@/server/defined";
import { quoteKekId, SealError } from "./errors";
import { contextAad, type KmsProvider } from "./kms-provider";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key file problem (missing permissions, unreadable, not a key file): configuration, not a bad record. */
export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

const keyFileSchema = z.object({
  current: z.string().min(1),
  keys: z.record(
    z.string().min(1),
    z.base64().refine((s) => Buffer.from(s, "base64").length === KEY_BYTES, "is not a base64 256-bit key"),
  ),
});
type KeyFile = z.infer<typeof keyFileSchema>;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A new KEK id: a sequence number for people, plus randomness so ids from different key files never collide. */
function nextKekId(existing: string[]): string {
  const numbers = existing
    .map((id) => /^k(\d+)-/.exec(id)?.[1])
    .filter((n) => n !== undefined)
    .map(Number);
  const next = Math.max(existing.length, ...numbers) + 1;
  return `k${next}-${randomBytes(4).toString("hex")}`;
}

function serialize(file: KeyFile): string {
  return JSON.stringify(file, null, 2) + "\n";
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the renamed key file survive a crash (write-file-atomic syncs the file, not its directory); not every
  // platform lets a directory be fsync'd.
  try {
    const handle = await fs.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

export class LocalKmsProvider implements KmsProvider {
  readonly name = "local" as const;
  readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  async currentKekId(): Promise<string> {
    return (await this.load()).current;
  }

  async wrapKey(dataKey: Buffer, context: Record<string, string>): Promise<{ kekId: string; wrapped: Buffer }> {
    const aad = contextAad(context);
    const file = await this.load();
    const kek = Buffer.from(defined(file.keys[file.current], `key ${file.current}`), "base64");
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", kek, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      const ciphertext = Buffer.concat([cipher.update(dataKey), cipher.final()]);
      // Layout: iv | tag | encrypted data key.
      return { kekId: file.current, wrapped: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]) };
    } finally {
      kek.fill(0);
    }
  }

  async unwrapKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer> {
    const aad = contextAad(context);
    const file = await this.load();
    if (!Object.hasOwn(file.keys, kekId)) {
      throw new SealError(
        "unknown-key",
        `Unknown key-encryption key ${quoteKekId(kekId)}: it is not in the key file ${this.file}. ` +
          `Restore the key file these credentials were sealed with, or reconnect the connector.`,
      );
    }
    if (wrapped.length !== IV_BYTES + TAG_BYTES + KEY_BYTES) throw SealError.tampered();
    const kek = Buffer.from(defined(file.keys[kekId], `key ${kekId}`), "base64");
    try {
      const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const dataKey = decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES));
      try {
        decipher.final();
      } catch {
        dataKey.fill(0);
        throw SealError.tampered();
      }
      return dataKey;
    } finally {
      kek.fill(0);
    }
  }

  /**
   * Adds a new KEK and makes it current; older keys stay so records not yet re-wrapped still open.
   * Serialized between processes by the key file's lock. Returns the new key's id.
   */
  async rotate(): Promise<string> {
    await this.load(); // creates the file (and its first key) if this is the very first use
    return this.withLock(async () => {
      const file = this.parse(await this.readChecked());
      const id = nextKekId(Object.keys(file.keys));
      const key = randomBytes(KEY_BYTES);
      const text = serialize({ current: id, keys: { ...file.keys, [id]: key.toString("base64") } });
      key.fill(0);
      await this.write(text);
      return id;
    });
  }

  /** The key file, created on first use. Read on every call so a rotation by another process is seen at once. */
  private async load(): Promise<KeyFile> {
    let text: string;
    try {
      text = await this.readChecked();
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw error;
      text = await this.create();
    }
    return this.parse(text);
  }

  private parse(text: string): KeyFile {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // JSON.parse messages quote the input, which is key material: never pass them on.
      throw new KeyFileError(`Key file ${this.file} is not valid JSON`);
    }
    const parsed = keyFileSchema.safeParse(raw);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ");
      throw new KeyFileError(`Key file ${this.file} is not a Wire key file: ${where}`);
    }
    if (!Object.hasOwn(parsed.data.keys, parsed.data.current)) {
      throw new KeyFileError(
        `Key file ${this.file} names current key ${quoteKekId(parsed.data.current)}, which it does not contain`,
      );
    }
    return parsed.data;
  }

  /** Reads the key file, refusing one that anyone but its owner could read (checked on the open handle). */
  private async readChecked(): Promise<string> {
    const handle = await fs.open(this.file, "r");
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new KeyFileError(`Key file ${this.file} is not a regular file`);
      const mode = stat.mode & 0o777;
      if (mode & 0o077) {
        throw new KeyFileError(
          `Key file ${this.file} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); ` +
            `it holds the keys to every connector's credentials. Run: chmod 600 ${this.file}`,
        );
      }
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  }

  /**
   * First use. Under the lock, so when processes race exactly one creates the file and the others read its keys
   * (an atomic write alone would let a later writer replace a key an earlier one already used).
   */
  private async create(): Promise<string> {
    const dir = path.dirname(this.file);
    // Like local-secrets.ts: the data dir stays traversable (the embedded database runs as another user);
    // only the key's own directory is private.
    await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return this.withLock(async () => {
      try {
        return await this.readChecked();
      } catch (error) {
        if (errnoCode(error) !== "ENOENT") throw error;
      }
      const id = nextKekId([]);
      const key = randomBytes(KEY_BYTES);
      const text = serialize({ current: id, keys: { [id]: key.toString("base64") } });
      key.fill(0);
      await this.write(text);
      return this.readChecked();
    });
  }

  /** A complete file under a temporary name (0600 from the start, fsync'd), renamed into place. */
  private async write(text: string): Promise<void> {
    await writeFileAtomic(this.file, text, { mode: 0o600, encoding: "utf8" });
    await syncDirectory(path.dirname(this.file));
  }

  /**
   * proper-lockfile: a `<file>.lock` directory whose mtime the holder refreshes; a lock not refreshed for
   * 10 s is stale (its holder died) and is taken over. Waits up to ~15 s for a live holder.
   */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    let compromised: Error | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.file, {
        realpath: false, // the key file may not exist yet
        stale: 10_000,
        retries: { retries: 70, factor: 1.3, minTimeout: 20, maxTimeout: 250 },
        onCompromised: (error) => {
          compromised = error; // the default throws from a timer, killing the process
        },
      });
    } catch (error) {
      if (errnoCode(error) !== "ELOCKED") throw error;
      throw new KeyFileError(
        `Another process holds the key file lock ${this.file}.lock; if none is running, delete that directory`,
      );
    }
    try {
      const result = await fn();
      if (compromised) throw new KeyFileError(`Lost the key file lock ${this.file}.lock: ${compromised.message}`);
      return result;
    } finally {
      await release().catch(() => {}); // already released when compromised
    }
  }
}
