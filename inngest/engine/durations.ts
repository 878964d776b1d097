/** Durations as the SDK writes them ("30s", "1h30m", "2d") and sleepUntil's ISO dates. */
const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export function parseDurationMs(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === "") return null;
  // An absent optional group is undefined at runtime, whatever RegExpExecArray's element type says.
  const [w = 0, d = 0, h = 0, min = 0, s = 0, ms = 0] = m
    .slice(1)
    .map((v: string | undefined) => (v === undefined ? 0 : Number(v)));
  return w * UNIT_MS.w + d * UNIT_MS.d + h * UNIT_MS.h + min * UNIT_MS.m + s * UNIT_MS.s + ms;
}

/** When a sleep named `name` (a duration or an ISO date) ends, counted from `now`. */
export function sleepUntil(name: string, now = Date.now()): Date {
  const ms = parseDurationMs(name);
  if (ms !== null) return new Date(now + ms);
  const date = new Date(name);
  if (Number.isNaN(date.getTime())) throw new Error(`Cannot read sleep duration "${name}"`);
  return date;
}
