import type { StreamErrorBody } from "@switchyard/core";
import { parseStreamMessage } from "@switchyard/core";
import { createParser, type EventSourceMessage, type EventSourceParser } from "eventsource-parser";
import { StreamError } from "./errors.js";
import type { StreamHooks, StreamItem } from "./options.js";
import { Utf8ChunkDecoder } from "./utf8.js";

/** A frame bigger than this (in characters) is dropped, so that a stream without blank lines cannot eat memory. */
export const MAX_FRAME_CHARS = 16 * 1024 * 1024;
const CR = 0x0d;
const LF = 0x0a;
const FRAME_END = Buffer.from("\n\n");

/**
 * Turns the bytes of one connection into checked items. Each `push` parses one socket read; the items it
 * produced are then taken with `take()`. An `error` frame is not an item: it is kept in `errorFrame`, and
 * frames after it on the same connection are ignored (the server closes the stream after one).
 */
export class FrameReader {
  items: StreamItem[] = [];
  errorFrame: StreamErrorBody | undefined;
  overflow = false;
  /** The server's `retry:` hint, when it sent one. */
  retryMs: number | undefined;
  private readonly decoder = new Utf8ChunkDecoder();
  private lineEndings: "lf" | "any" = "lf";
  private carry: Buffer | undefined;
  private readonly parser: EventSourceParser;

  constructor(private readonly hooks: StreamHooks) {
    this.parser = createParser({
      onEvent: (message) => this.onEvent(message),
      onRetry: (ms) => {
        this.retryMs = ms;
      },
      onError: (error) => {
        if (error.type === "max-buffer-size-exceeded") this.overflow = true;
      },
      maxBufferSize: MAX_FRAME_CHARS,
    });
  }

  push(chunk: Buffer): void {
    if (this.overflow) return;
    if (this.lineEndings === "any") {
      this.parser.feed(this.decoder.decode(chunk));
      return;
    }
    // A CR means the server uses CRLF or CR line endings: let the parser handle every byte from here on.
    if (chunk.indexOf(CR) !== -1) {
      this.lineEndings = "any";
      const carried = this.carry;
      this.carry = undefined;
      this.parser.feed(this.decoder.decode(carried ? Buffer.concat([carried, chunk]) : chunk));
      return;
    }
    // Decode frame by frame: a frame of ASCII then becomes a one-byte string, which JSON.parse and the parser
    // scan about twice as fast as the two-byte string a whole chunk turns into when any frame in it is not
    // ASCII. A frame ends with a blank line, so it never ends inside a UTF-8 sequence.
    let start = 0;
    const carried = this.carry;
    if (carried) {
      // Only the frame cut by the previous read is joined: copying the whole chunk would cost more.
      const straddles = carried[carried.length - 1] === LF && chunk[0] === LF;
      const end = straddles ? -1 : chunk.indexOf(FRAME_END);
      if (end === -1 && !straddles) {
        this.keep(Buffer.concat([carried, chunk]));
        return;
      }
      this.carry = undefined;
      this.parser.feed(Buffer.concat([carried, chunk.subarray(0, end + 2)]).toString("utf8"));
      start = end + 2;
    }
    for (let end = chunk.indexOf(FRAME_END, start); end !== -1; end = chunk.indexOf(FRAME_END, start)) {
      this.parser.feed(chunk.toString("utf8", start, end + 2));
      start = end + 2;
    }
    if (start < chunk.length) this.keep(Buffer.from(chunk.subarray(start)));
  }

  private keep(rest: Buffer): void {
    if (rest.length > MAX_FRAME_CHARS) this.overflow = true;
    else this.carry = rest;
  }

  take(): StreamItem[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  private onEvent(message: EventSourceMessage): void {
    if (this.errorFrame || message.data === "") return;
    const result = parseStreamMessage(message.data, message.event);
    if (!result.ok) {
      const offset = message.id || offsetIn(message.data);
      const where = offset ? ` at offset ${offset}` : "";
      const error = new StreamError(
        "MALFORMED",
        `skipped a malformed frame${where}: ${result.error.message}`,
        {
          retryable: true,
          cause: result.error,
        },
      );
      call(() => this.hooks.onMalformed?.({ offset, error, raw: message.data }));
      return;
    }
    const value = result.value;
    if (value.kind === "error") {
      this.errorFrame = value.error;
      return;
    }
    // Built field by field, not spread: one hidden class for every event item on this hot path.
    const item: StreamItem =
      value.kind !== "event"
        ? value
        : value.invalid === undefined
          ? {
              kind: "event",
              offset: value.offset,
              event: value.event,
              json: eventText(message.data) ?? JSON.stringify(value.event),
            }
          : {
              kind: "event",
              offset: value.offset,
              event: value.event,
              json: eventText(message.data) ?? JSON.stringify(value.event),
              invalid: value.invalid,
            };
    this.items.push(item);
    if (item.kind === "event" && item.invalid !== undefined) {
      const { offset, event, invalid } = item;
      call(() => this.hooks.onInvalid?.({ offset, event, reason: invalid }));
    }
    if (this.hooks.onMessage) call(() => this.hooks.onMessage?.(item));
  }
}

const PREFIX = '{"offset":"';
const EVENT_KEY = ',"event":';

/**
 * The event's own JSON text inside a frame shaped as Auth0 sends it (`{"offset":"…","event":{…}}`), so the
 * host stores and forwards Auth0's bytes instead of serialising the event again. Undefined for any other shape.
 */
export function eventText(data: string): string | undefined {
  if (!data.startsWith(PREFIX) || !data.endsWith("}")) return undefined;
  const end = data.indexOf('"', PREFIX.length);
  if (end < 0 || data.lastIndexOf("\\", end) >= PREFIX.length || !data.startsWith(EVENT_KEY, end + 1))
    return undefined;
  return data.slice(end + 1 + EVENT_KEY.length, -1);
}

const OFFSET = /"offset"\s*:\s*"([^"\\]{1,1024})"/;

// A frame whose JSON is broken may still name its offset; report it so the operator can find the frame.
function offsetIn(data: string): string | undefined {
  return OFFSET.exec(data.slice(0, 2048))?.[1];
}

/** Run a user hook; a hook that throws must never break the stream. */
export function call(hook: () => void): void {
  try {
    hook();
  } catch {
    // Deliberately ignored: hooks are for metrics and logs.
  }
}
