import { patternError } from "@switchyard/core";

/**
 * A lookup from event type to the value of the most specific matching pattern: an exact type beats a prefix
 * (`user.*`), a longer prefix beats a shorter one, and `*` comes last. Throws on an invalid pattern.
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
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return (type) => {
    if (exact.has(type)) return exact.get(type);
    for (const [prefix, value] of prefixes) if (type.startsWith(prefix)) return value;
    return fallback?.value;
  };
}
