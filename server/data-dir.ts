/**
 * WIRE_DATA_DIR holds the database, stored copies and secrets, so it is private to the app's user: 0700.
 * Run as root, the embedded PostgreSQL runs as the `postgres` system user and must pass through it to reach
 * its cluster: then it is 0711 (others may enter a path they know, not list it), and the folders with app data
 * below it (blobs/, secrets/, tmp/) stay 0700.
 */
import "server-only";
import fs from "node:fs";

export function dataDirMode(): number {
  return process.getuid?.() === 0 ? 0o711 : 0o700;
}

/** Creates the data dir, or tightens an existing one (older versions made it 0755). */
export function prepareDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: dataDirMode() });
  fs.chmodSync(dir, dataDirMode());
}
