import type { Auth0Event } from "./events.js";

// One event goes to several actions; most send it as JSON. Serialise it once, and not at all when the text
// it was read from is known. Events are treated as immutable once they enter the host.
const texts = new WeakMap<object, string>();

/** The JSON text of an event, serialised at most once however many actions send it. */
export function eventJson(event: Auth0Event): string {
  let text = texts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    texts.set(event, text);
  }
  return text;
}

const bodies = new WeakMap<object, Uint8Array>();

/**
 * The event's JSON as UTF-8 bytes, encoded at most once however many actions send it (an HTTP client
 * given the text encodes it again for every request).
 */
export function eventJsonBytes(event: Auth0Event): Uint8Array {
  let bytes = bodies.get(event);
  if (bytes === undefined) {
    // Buffer.from: about twice as fast as TextEncoder for these strings (small ones share a pooled slab).
    bytes = Buffer.from(eventJson(event));
    bodies.set(event, bytes);
  }
  return bytes;
}

/** Record the JSON text an event was parsed from, so `eventJson` returns it without serialising. */
export function rememberEventJson(event: Auth0Event, text: string): void {
  texts.set(event, text);
}
