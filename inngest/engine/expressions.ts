/**
 * The expression forms the embedded engine understands. Anything else is refused at registration
 * with an error naming the expression, never silently ignored.
 *   trigger filters:        event.data.x == 'literal'   (string, number or boolean literal)
 *   cancelOn / waitForEvent: event.data.x == async.data.y   (either side first)
 */
import { defined } from "@/server/defined";
export class UnsupportedFeatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedFeatureError";
  }
}

const PATH = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`;
const LITERAL = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false`;
const FILTER = new RegExp(String.raw`^\s*event\.(${PATH})\s*==\s*(${LITERAL})\s*$`);
const MATCH = new RegExp(String.raw`^\s*(event|async)\.(${PATH})\s*==\s*(event|async)\.(${PATH})\s*$`);

export interface EventFilter {
  path: string;
  value: unknown;
}

export function parseEventFilter(expression: string): EventFilter {
  const m = FILTER.exec(expression);
  if (!m) {
    throw new UnsupportedFeatureError(
      `Unsupported trigger expression "${expression}": only event.<path> == <literal> is supported.`,
    );
  }
  const raw = defined(m[2], "the filter's literal");
  const value: unknown = raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : JSON.parse(raw);
  return { path: defined(m[1], "the filter's event path"), value };
}

export interface EventMatch {
  /** Path into the run's triggering event. */
  eventPath: string;
  /** Path into the incoming (async) event. */
  asyncPath: string;
}

export function parseEventMatch(expression: string): EventMatch {
  const m = MATCH.exec(expression);
  if (!m || m[1] === m[3]) {
    throw new UnsupportedFeatureError(
      `Unsupported match expression "${expression}": only event.<path> == async.<path> is supported.`,
    );
  }
  const [left, right] = [defined(m[2], "the match's left path"), defined(m[4], "the match's right path")];
  return m[1] === "event" ? { eventPath: left, asyncPath: right } : { eventPath: right, asyncPath: left };
}

export function valueAt(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
