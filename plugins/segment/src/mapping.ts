import { type Auth0Event, createPatternTable, errorPrefix, PermanentError } from "@switchyard/core";
import { CALL_TYPES, type PreparedCall, type SegmentCall } from "./calls.js";
import { defaultCalls, type MappingOverride } from "./default-mapping.js";

/**
 * A mapping written as code: the calls an event becomes (`[]` sends nothing). `defaults` are the calls the
 * default mapping would send, to keep or adjust.
 */
export type MappingFunction = (
  event: Auth0Event,
  defaults: SegmentCall[],
) => readonly SegmentCall[] | Promise<readonly SegmentCall[]>;

/** What to do with the events of one type or pattern: skip (`false`), default (`true`), tweak, or code. */
export type MappingEntry = boolean | MappingOverride | MappingFunction;

/** `mapping` option: keys are exact types (`user.created`), prefixes (`organization.*`) or `*`. */
export type Mapping = Readonly<Record<string, MappingEntry>>;

/**
 * Compile the `mapping` option into a function from an event to the calls to send. The most specific key wins
 * (core's `createPatternTable`: the exact type, then the longest matching prefix, then `*`); an event no key
 * matches gets the default mapping.
 */
export function createMapper(
  mapping: Mapping = {},
): (event: Auth0Event) => PreparedCall[] | Promise<PreparedCall[]> {
  const entryFor = createPatternTable(mapping);

  // Synchronous unless a mapping function is async, so calls reach the SDK's batch in the same tick.
  return (event) => {
    const entry = entryFor(event.type) ?? true;
    if (entry === false) return [];
    if (entry === true) return prepare(event, defaultCalls(event));
    if (typeof entry !== "function") return prepare(event, defaultCalls(event, entry));
    const defaults = defaultCalls(event);
    const calls: unknown = entry(event, defaults);
    return calls instanceof Promise
      ? calls.then((resolved: unknown) => prepare(event, checkCalls(event.type, resolved), defaults))
      : prepare(event, checkCalls(event.type, calls), defaults);
  };
}

/**
 * Fill in what a mapping function may leave out, deterministically so that a replayed event produces the same
 * messageIds (Segment drops duplicates by messageId): the first track call gets the event id, every other call
 * `<event id>:<call type>` (plus `:<index>` when that is taken); ids and timestamp come from the defaults.
 */
function prepare(event: Auth0Event, calls: readonly SegmentCall[], defaults = calls): PreparedCall[] {
  const base = defaults[0];
  const identity = base?.userId
    ? { userId: base.userId }
    : { anonymousId: base?.anonymousId ?? event.a0tenant };
  const used = new Set<string>();
  return calls.map((call, index) => {
    let messageId = call.messageId;
    if (!messageId) {
      messageId = call.type === "track" && !used.has(event.id) ? event.id : `${event.id}:${call.type}`;
      if (used.has(messageId)) messageId = `${messageId}:${index}`;
    }
    used.add(messageId);
    const hasIdentity = Boolean(call.userId || call.anonymousId);
    return {
      ...(hasIdentity ? {} : identity),
      timestamp: event.time,
      context: base?.context,
      ...call,
      messageId,
    } as PreparedCall;
  });
}

function checkCalls(type: string, calls: unknown): SegmentCall[] {
  const problem = (what: string) =>
    new PermanentError(`${errorPrefix("segment")} the mapping function for "${type}" returned ${what}`);
  if (!Array.isArray(calls)) throw problem("something other than an array of calls");
  for (const call of calls) {
    if (
      typeof call !== "object" ||
      call === null ||
      !CALL_TYPES.has((call as { type?: string }).type ?? "")
    ) {
      throw problem(`a call without a known "type" (track, identify, group, page, screen, alias)`);
    }
  }
  return calls as SegmentCall[];
}
