import type { Auth0Event } from "@switchyard/core";
import { EVENT_TYPES } from "@switchyard/core";
import { createEventFactory } from "./factories.js";

// The fake tenant's log must hold a million events without holding a million objects: `appendMany` stores one
// small segment per call, and each event's JSON is built on demand from a few pre-serialised realistic
// templates per type, with a per-index `id` substituted (unique and stable: a re-read sees the same id).

const VARIANTS = 4;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const OFFSET_PREFIX = "MTc";
const OFFSET_PATTERN = /^MTc[0-9a-z]{9}$/;

interface Template {
  head: string;
  mid: string;
  tail: string;
  /** The same parts, UTF-8 encoded once, for `encodeFrame`. */
  bytes: { head: Buffer; mid: Buffer; tail: Buffer };
}

interface ExplicitSegment {
  kind: "explicit";
  start: number;
  count: number;
  at: number;
  types: string[];
  json: string[];
}

interface LazySegment {
  kind: "lazy";
  start: number;
  count: number;
  at: number;
  timeIso: string;
  types: readonly string[];
  seed: number;
}

type Segment = ExplicitSegment | LazySegment;

const templateCache = new Map<string, Template[]>();
const prefixCache = new Map<string, Buffer>();
const FRAME_DATA = Buffer.from('\ndata: {"offset":"');
const FRAME_EVENT = Buffer.from('","event":');
const FRAME_END = Buffer.from("}\n\n");

function framePrefix(type: string): Buffer {
  let prefix = prefixCache.get(type);
  if (!prefix) {
    prefix = Buffer.from(`event: ${type}\nid: `);
    prefixCache.set(type, prefix);
  }
  return prefix;
}

// Offsets, ids and times are ASCII: copying their char codes beats a native encode call for so few bytes.
function ascii(target: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[at + i] = text.charCodeAt(i);
  return at + text.length;
}

// Non-ASCII names in some templates, so that frames split at arbitrary byte boundaries cut UTF-8 sequences.
const UNICODE_NAMES = ["Zoë Ångström-山田", "José Müller ✓", "Ærøskøbing Ünïcødé 🚀"];

function templatesFor(type: string): Template[] {
  const cached = templateCache.get(type);
  if (cached) return cached;
  const factory = createEventFactory({ seed: 7 + type.length });
  const list: Template[] = [];
  for (let v = 0; v < VARIANTS; v++) {
    const event = factory.event(type) as unknown as Record<string, unknown>;
    const data = event.data as { object: Record<string, unknown> };
    if (v < UNICODE_NAMES.length) {
      if (type.startsWith("user.")) data.object.name = UNICODE_NAMES[v];
      if (type.startsWith("organization.") && "display_name" in data.object) {
        data.object.display_name = UNICODE_NAMES[v];
      }
    }
    event.id = "\u0000ID\u0000";
    event.time = "\u0000TIME\u0000";
    const json = JSON.stringify(event);
    const [head, rest = ""] = json.split('"\\u0000ID\\u0000"');
    const [mid, tail = ""] = rest.split('"\\u0000TIME\\u0000"');
    const parts = { head: `${head}"`, mid: `"${mid}"`, tail: `"${tail}` };
    list.push({
      ...parts,
      bytes: { head: Buffer.from(parts.head), mid: Buffer.from(parts.mid), tail: Buffer.from(parts.tail) },
    });
  }
  templateCache.set(type, list);
  return list;
}

// A bijection on 32-bit integers, so scrambled indexes never collide.
function scramble(index: number): number {
  let x = index >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function base62(value: number, length: number): string {
  let out = "";
  let v = value;
  for (let i = 0; i < length; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/** A compact, append-only log of stream events, each addressed by index and by an opaque offset. */
export class EventLog {
  private readonly segments: Segment[] = [];
  private total = 0;
  private lastAt = 0;
  private hint = 0;
  private readonly salt: string;

  constructor(options: { seed?: number } = {}) {
    this.salt = base62(scramble(options.seed ?? 1), 6) + base62(scramble((options.seed ?? 1) + 1), 10);
  }

  /** Number of events in the log. */
  get length(): number {
    return this.total;
  }

  /** Add events as given (kept as JSON). Returns their indexes. */
  append(events: readonly Auth0Event[], now: number = Date.now()): number[] {
    const at = this.stamp(now);
    const start = this.total;
    this.segments.push({
      kind: "explicit",
      start,
      count: events.length,
      at,
      types: events.map((event) => event.type),
      json: events.map((event) => JSON.stringify(event)),
    });
    this.total += events.length;
    return events.map((_, i) => start + i);
  }

  /**
   * Add `count` realistic events built on demand, cycling through `types` (default: all 25) by position in
   * the log, so that many small appends (a trickle) still cycle through every type.
   */
  appendMany(
    count: number,
    options: { types?: readonly string[] | undefined; seed?: number | undefined } = {},
    now: number = Date.now(),
  ): void {
    if (count <= 0) return;
    const types = options.types?.length ? [...options.types] : EVENT_TYPES;
    const at = this.stamp(now);
    this.segments.push({
      kind: "lazy",
      start: this.total,
      count,
      at,
      timeIso: new Date(at).toISOString(),
      types,
      seed: options.seed ?? 1,
    });
    this.total += count;
  }

  /** The opaque offset of the event at `index`. */
  offsetOf(index: number): string {
    return OFFSET_PREFIX + index.toString(36).padStart(9, "0");
  }

  /** The index an offset points at, or undefined when it is not an offset of this log. */
  indexOfOffset(offset: string): number | undefined {
    if (!OFFSET_PATTERN.test(offset)) return undefined;
    const index = Number.parseInt(offset.slice(OFFSET_PREFIX.length), 36);
    return index < this.total ? index : undefined;
  }

  /** Index of the first event recorded at or after `ms` (the log's length when none). */
  firstIndexAtOrAfter(ms: number): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.segments[mid] as Segment).at < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.segments.length ? (this.segments[lo] as Segment).start : this.total;
  }

  /** The event type at `index`. */
  typeAt(index: number): string {
    const segment = this.segmentOf(index);
    const k = index - segment.start;
    return segment.kind === "explicit"
      ? (segment.types[k] as string)
      : (segment.types[index % segment.types.length] as string);
  }

  /** The event at `index`, as the JSON text the stream sends. */
  jsonAt(index: number): string {
    const segment = this.segmentOf(index);
    const k = index - segment.start;
    if (segment.kind === "explicit") return segment.json[k] as string;
    const type = segment.types[index % segment.types.length] as string;
    const template = templatesFor(type)[(scramble(k ^ segment.seed) >>> 3) % VARIANTS] as Template;
    return template.head + this.eventId(index) + template.mid + segment.timeIso + template.tail;
  }

  /** The event at `index`, parsed. */
  eventAt(index: number): Auth0Event {
    return JSON.parse(this.jsonAt(index)) as Auth0Event;
  }

  /** The full SSE frame of the event at `index`. */
  frameAt(index: number): string {
    const offset = this.offsetOf(index);
    return `event: ${this.typeAt(index)}\nid: ${offset}\ndata: {"offset":"${offset}","event":${this.jsonAt(index)}}\n\n`;
  }

  /**
   * Write the SSE frame of the event at `index` into `target` at `at`, without building a string: the way to
   * serve hundreds of thousands of frames per second. Returns the position after it, or -1 when it does not fit.
   */
  encodeFrame(index: number, target: Buffer, at: number): number {
    const segment = this.segmentOf(index);
    const k = index - segment.start;
    if (segment.kind === "explicit") {
      const frame = this.frameAt(index);
      if (at + Buffer.byteLength(frame) > target.length) return -1;
      return at + target.write(frame, at, "utf8");
    }
    const type = segment.types[index % segment.types.length] as string;
    const template = templatesFor(type)[(scramble(k ^ segment.seed) >>> 3) % VARIANTS] as Template;
    const { head, mid, tail } = template.bytes;
    const prefix = framePrefix(type);
    const offset = this.offsetOf(index);
    const size =
      prefix.length + FRAME_DATA.length + FRAME_EVENT.length + FRAME_END.length + 2 * offset.length;
    if (at + size + head.length + 22 + mid.length + segment.timeIso.length + tail.length > target.length)
      return -1;
    let p = at;
    target.set(prefix, p);
    p = ascii(target, p + prefix.length, offset);
    target.set(FRAME_DATA, p);
    p = ascii(target, p + FRAME_DATA.length, offset);
    target.set(FRAME_EVENT, p);
    p += FRAME_EVENT.length;
    target.set(head, p);
    p = ascii(target, p + head.length, this.eventId(index));
    target.set(mid, p);
    p = ascii(target, p + mid.length, segment.timeIso);
    target.set(tail, p);
    p += tail.length;
    target.set(FRAME_END, p);
    return p + FRAME_END.length;
  }

  private eventId(index: number): string {
    return `evt_${base62(scramble(index), 6)}${this.salt}`;
  }

  private stamp(now: number): number {
    this.lastAt = Math.max(this.lastAt, now);
    return this.lastAt;
  }

  private segmentOf(index: number): Segment {
    const guess = this.segments[this.hint];
    if (guess && index >= guess.start && index < guess.start + guess.count) return guess;
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.segments[mid] as Segment).start <= index) lo = mid;
      else hi = mid - 1;
    }
    const segment = this.segments[lo];
    if (!segment || index < segment.start || index >= segment.start + segment.count) {
      throw new RangeError(`[switchyard] [testing] no event at index ${index} (the log has ${this.total})`);
    }
    this.hint = lo;
    return segment;
  }
}
