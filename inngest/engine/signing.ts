/** Request signing exactly as the Inngest SDK verifies it: HMAC-SHA256(key, JCS(body) + timestamp). */
import "server-only";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import canonicalize from "canonicalize";

const PREFIX = /^signkey-[\w]+-/;

export function signBody(body: unknown, signingKey: string, now = Date.now()): string {
  const ts = Math.round(now / 1000).toString();
  const encoded = typeof body === "string" ? body : (canonicalize(body) ?? "");
  const mac = createHmac("sha256", signingKey.replace(PREFIX, ""))
    .update(encoded + ts)
    .digest("hex");
  return `t=${ts}&s=${mac}`;
}

/** The bearer token the SDK sends to the API: the signing key's prefix + SHA-256 of its hex body. */
export function hashedSigningKey(signingKey: string): string {
  const prefix = PREFIX.exec(signingKey)?.[0] ?? "";
  return (
    prefix +
    createHash("sha256")
      .update(Buffer.from(signingKey.replace(PREFIX, ""), "hex"))
      .digest("hex")
  );
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
