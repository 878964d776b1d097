/**
 * `value`, or a thrown Error naming what was missing. For values the code knows are there but the types cannot
 * show: the row an INSERT … RETURNING or an aggregate SELECT just produced, the capture group a matched regex
 * always has, a Map entry set a few lines above. A broken assumption fails here, with a message, rather than as
 * a TypeError on `undefined` somewhere later.
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`Expected ${what}, got ${String(value)}`);
  return value;
}
