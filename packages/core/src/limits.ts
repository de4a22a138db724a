/**
 * What an event may hold, checked at intake by both sources (the stream and the webhook) before anything
 * else touches it. An event past these limits is refused (400 from the webhook, a skipped malformed frame on
 * the stream), never stored: one deeply nested event overflowed the stack of `structuredClone` in every
 * attempt, and one long type became a metric label of its own.
 */
export const EVENT_LIMITS = {
  /** Nesting of objects and arrays, the event itself being level 1 (Auth0's events use about 6). */
  maxDepth: 64,
  /** UTF-8 bytes of `type` (Auth0's longest is 32). */
  maxTypeBytes: 256,
  /** UTF-8 bytes of `id` (Auth0's are about 30). */
  maxIdBytes: 1024,
} as const;

/** True when `value` nests objects or arrays deeper than `maxDepth` levels. Never recurses past the limit. */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (maxDepth <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestedDeeperThan(item, maxDepth - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (nestedDeeperThan((value as Record<string, unknown>)[key], maxDepth - 1)) return true;
  }
  return false;
}

/** The length of `text` in UTF-8 bytes, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff)
      i++; // a surrogate pair: 4 bytes for its 2 units
    else bytes += 2;
  }
  return bytes;
}

/**
 * True when `text` holds a control character: C0 (NUL, line breaks, escape…), DEL or C1. Nothing an id or a
 * type needs, and each can forge a log line or break a SQL text column (PostgreSQL refuses NUL).
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
