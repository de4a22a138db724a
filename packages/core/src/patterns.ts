import { EVENT_TYPES, isKnownEventType, type KnownEventType } from "./event-types.js";

// A subscription pattern is `*` (every type, known or not), an exact type (`user.created`), or a prefix
// (`organization.*`: every type under `organization.` at any depth).

const SEGMENT = /^[a-z0-9_-]+$/;

/** Why `pattern` is not a valid subscription pattern, or undefined when it is. */
export function patternError(pattern: string): string | undefined {
  if (pattern === "*") return undefined;
  if (pattern.trim() === "") return "an event pattern cannot be empty";
  const segments = pattern.split(".");
  const last = segments.length - 1;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    if (segment === "*" && i === last && i > 0) continue;
    if (segment.includes("*")) {
      return `"${pattern}" is not a valid event pattern: use "*", an exact type, or a prefix ending in ".*" (like "user.*")`;
    }
    if (!SEGMENT.test(segment)) {
      return `"${pattern}" is not a valid event pattern: each dot-separated part must be lowercase letters, digits, "_" or "-"`;
    }
  }
  return undefined;
}

/** A predicate that tells whether an event type matches any of the patterns. Throws on an invalid pattern. */
export function createMatcher(patterns: readonly string[]): (type: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    const error = patternError(pattern);
    if (error) throw new TypeError(error);
    if (pattern === "*") return () => true;
    if (pattern.endsWith(".*")) prefixes.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}

/**
 * A lookup from an event type to the value of the most specific pattern that matches it, for options keyed
 * by pattern (a channel per pattern, a mapping per pattern): an exact type beats any prefix, a longer prefix
 * (`organization.member.*`) beats a shorter one (`organization.*`), and `*` comes last. Undefined when no
 * pattern matches. Throws a TypeError on an invalid pattern.
 */
export function createPatternTable<T>(entries: Readonly<Record<string, T>>): (type: string) => T | undefined {
  const exact = new Map<string, T>();
  const prefixes: Array<[prefix: string, value: T]> = [];
  let fallback: { value: T } | undefined;
  for (const [pattern, value] of Object.entries(entries)) {
    const error = patternError(pattern);
    if (error) throw new TypeError(error);
    if (pattern === "*") fallback = { value };
    else if (pattern.endsWith(".*")) prefixes.push([pattern.slice(0, -1), value]);
    else exact.set(pattern, value);
  }
  // Longest first, so the first prefix that matches is the most specific one.
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return (type) => {
    if (exact.has(type)) return exact.get(type);
    for (const [prefix, value] of prefixes) if (type.startsWith(prefix)) return value;
    return fallback?.value;
  };
}

/** True when `type` matches `pattern`. */
export function matchesPattern(pattern: string, type: string): boolean {
  return createMatcher([pattern])(type);
}

/**
 * The exact `event_type` values to ask the stream for, so that every pattern gets what it subscribed to.
 * `{ all: true }` (ask for everything, and let the host match locally) unless every pattern is an exact type
 * this version knows: the stream accepts only known types, so a prefix such as `user.*` expanded to today's
 * types would withhold a `user.…` type Auth0 adds tomorrow.
 */
export function expandEventTypes(
  patterns: readonly string[],
): { all: true } | { all: false; types: KnownEventType[] } {
  const wanted = new Set<string>();
  for (const pattern of patterns) {
    if (!isKnownEventType(pattern)) return { all: true };
    wanted.add(pattern);
  }
  if (wanted.size === EVENT_TYPES.length) return { all: true };
  return { all: false, types: EVENT_TYPES.filter((type) => wanted.has(type)) };
}
