/**
 * How far V8 lets the old generation grow past what a full collection left alive. By default it allows up to
 * ~4× when collecting looks cheap, and a backfill's steady allocation (downloads, texts, engine calls) takes
 * all of it: ~80 MB live became ~340 MB of heap, 524 MB of RSS (`npm run bench:sync` with `--trace-gc`).
 * At 1.25× the app peaks at ~240 MB at the same throughput. Unlike a cap (--max-old-space-size) this never
 * stops a large PDF from getting the heap it needs; it only collects sooner. A flag given to node wins.
 */
import v8 from "node:v8";

export const HEAP_GROWING_PERCENT = 25;

export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  // Read by V8 at every full collection, so setting it after start takes effect at the next one.
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
