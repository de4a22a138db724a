import type { z } from "zod";
import { SwitchyardError } from "./errors.js";
import { isKnownEventType } from "./event-types.js";
import type { Auth0Event, UnknownAuth0Event } from "./events.js";
import { EVENT_LIMITS, nestedDeeperThan } from "./limits.js";
import { envelopeSchema, errorFrameSchema, objectSchemas, offsetSchema } from "./schema.js";

/** A message of the stream, after its `data:` line was parsed and checked. */
export type StreamMessage =
  | { kind: "event"; offset: string; event: Auth0Event; invalid?: undefined }
  /**
   * An event of a known type whose `data` does not match this version's schema of it (Auth0 changed a
   * field): its envelope is a valid CloudEvent, so it is delivered as it is, typed as unvalidated, with
   * `invalid` saying what deviates (`data.object.user_id: expected string, received number`).
   */
  | { kind: "event"; offset: string; event: UnknownAuth0Event; invalid: string }
  | { kind: "offset"; offset: string }
  | { kind: "error"; offset: string | undefined; error: StreamErrorBody };

/** The body of an `event: error` frame; the server closes the stream after it. */
export interface StreamErrorBody {
  code: string;
  message?: string | undefined;
  offset?: string | undefined;
}

/** Why a message was rejected: `path` names the first field that failed (`event.data.object.user_id`). */
export class ParseError extends SwitchyardError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("PARSE", path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ParseError };

/**
 * A checked CloudEvent. `invalid` is set when the envelope is valid but the `data` of a known type deviates
 * from its schema: the event is still usable (typed as unvalidated), and `invalid` says what deviates.
 */
export type EventParseResult =
  | { ok: true; value: Auth0Event; invalid?: undefined }
  | { ok: true; value: UnknownAuth0Event; invalid: string }
  | { ok: false; error: ParseError };

/**
 * Parse and check one CloudEvent (a JSON string or an already parsed value). Unknown event types are
 * accepted when the envelope is valid; so is a known type whose `data` deviates, marked `invalid`.
 */
export function parseCloudEvent(input: unknown): EventParseResult {
  const json = decode(input);
  if (!json.ok) return json;
  return checkEvent(json.value, "");
}

/**
 * Parse one stream message: the `data:` of an SSE frame, with the frame's `event:` name when known.
 * `offset-only` heartbeats and `error` frames are recognised by their shape as well as their name.
 */
export function parseStreamMessage(data: unknown, eventName?: string): ParseResult<StreamMessage> {
  const json = decode(data);
  if (!json.ok) return json;
  const value = json.value;
  if (!isRecord(value)) return fail("", "expected a JSON object");

  if (eventName === "error" || ("error" in value && !("event" in value))) {
    const parsed = errorFrameSchema.safeParse(value);
    if (!parsed.success) return fromZod(parsed.error, "");
    const error = parsed.data.error as StreamErrorBody;
    return { ok: true, value: { kind: "error", offset: error.offset, error } };
  }

  const offset = offsetSchema.safeParse(value.offset);
  if (!offset.success) return fromZod(offset.error, "offset");
  if (value.event === undefined) {
    if (eventName !== undefined && eventName !== "offset-only" && eventName !== "message") {
      return fail("event", `missing for a "${eventName}" frame`);
    }
    return { ok: true, value: { kind: "offset", offset: offset.data } };
  }
  const event = checkEvent(value.event, "event");
  if (!event.ok) return event;
  if (eventName !== undefined && eventName !== "message" && eventName !== event.value.type) {
    return fail("event.type", `"${event.value.type}" does not match the frame's event name "${eventName}"`);
  }
  if (event.invalid !== undefined) {
    return {
      ok: true,
      value: { kind: "event", offset: offset.data, event: event.value, invalid: event.invalid },
    };
  }
  return { ok: true, value: { kind: "event", offset: offset.data, event: event.value } };
}

function checkEvent(value: unknown, prefix: string): EventParseResult {
  // Before anything walks it: zod's error paths, a structured clone or a log line would recurse as deep.
  if (nestedDeeperThan(value, EVENT_LIMITS.maxDepth)) {
    return fail(prefix, `nested deeper than ${EVENT_LIMITS.maxDepth} levels`);
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) return fromZod(envelope.error, prefix);
  const type = envelope.data.type;
  if (isKnownEventType(type)) {
    const object = objectSchemas[type].safeParse(envelope.data.data.object);
    // Only `data` deviates (the id, type and time are sound): an event is never dropped for a field Auth0
    // changed. Its path is reported without the message prefix, as it is within the event.
    if (!object.success) {
      return {
        ok: true,
        value: value as UnknownAuth0Event,
        invalid: fromZod(object.error, "data.object").error.message,
      };
    }
  }
  // The schemas only check (no defaults, no transforms), so the input is the event: return it rather than
  // zod's copy, which halves what each event allocates.
  return { ok: true, value: value as Auth0Event };
}

function decode(input: unknown): ParseResult<unknown> {
  if (typeof input !== "string") return { ok: true, value: input };
  try {
    return { ok: true, value: JSON.parse(input) };
  } catch (error) {
    return fail("", `invalid JSON (${(error as Error).message})`);
  }
}

function fromZod(error: z.ZodError, prefix: string): { ok: false; error: ParseError } {
  const issue = error.issues[0];
  if (!issue) return fail(prefix, "invalid");
  const path = issue.path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : join(acc, String(key))),
    prefix,
  );
  return fail(path, issue.message);
}

function fail(path: string, message: string): { ok: false; error: ParseError } {
  return { ok: false, error: new ParseError(path, message) };
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
