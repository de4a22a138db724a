import { EVENT_TYPES, parseStreamMessage } from "@switchyard/core";
import { describe, expect, test } from "vitest";
import { EventLog } from "./event-log.js";
import { events } from "./factories.js";

describe("EventLog", () => {
  test("lazy events are realistic, valid for all 25 types, and stable across reads", () => {
    const log = new EventLog();
    log.appendMany(EVENT_TYPES.length * 4);
    const seen = new Set<string>();
    for (let i = 0; i < log.length; i++) {
      const frame = log.frameAt(i);
      const data = /\ndata: (.*)\n\n$/.exec(frame)?.[1] ?? "";
      const parsed = parseStreamMessage(data, log.typeAt(i));
      if (!parsed.ok) throw parsed.error;
      expect(parsed.value).toMatchObject({ kind: "event", offset: log.offsetOf(i) });
      const event = log.eventAt(i);
      expect(event.type).toBe(EVENT_TYPES[i % EVENT_TYPES.length]);
      expect(event.id).toMatch(/^evt_[A-Za-z0-9]{22}$/);
      expect(log.eventAt(i).id).toBe(event.id);
      seen.add(event.id);
    }
    expect(seen.size).toBe(log.length);
  });

  test("offsets are opaque, round-trip, and reject strangers", () => {
    const log = new EventLog();
    log.appendMany(10);
    const offset = log.offsetOf(7);
    expect(offset).not.toMatch(/^\d+$/);
    expect(log.indexOfOffset(offset)).toBe(7);
    expect(log.indexOfOffset("7")).toBeUndefined();
    expect(log.indexOfOffset(log.offsetOf(10))).toBeUndefined();
  });

  test("explicit events are kept as given; from_timestamp finds the first recorded at or after", () => {
    const log = new EventLog();
    log.appendMany(3, {}, 1_000);
    const [index] = log.append([events.userCreated({ email: "a@example.com" })], 2_000);
    log.appendMany(2, { types: ["user.deleted"] }, 3_000);
    expect(index).toBe(3);
    expect(log.eventAt(3).type).toBe("user.created");
    expect(log.firstIndexAtOrAfter(1_500)).toBe(3);
    expect(log.firstIndexAtOrAfter(2_000)).toBe(3);
    expect(log.firstIndexAtOrAfter(2_500)).toBe(4);
    expect(log.firstIndexAtOrAfter(9_000)).toBe(6);
    expect(log.typeAt(5)).toBe("user.deleted");
  });

  test("encodeFrame writes exactly the bytes of frameAt, and refuses when there is no room", () => {
    const log = new EventLog();
    log.appendMany(60);
    log.append([events.organizationCreated({ display_name: "Société ✓" })]);
    const target = Buffer.alloc(64 * 1024);
    for (let i = 0; i < log.length; i++) {
      const end = log.encodeFrame(i, target, 3);
      expect(target.subarray(3, end).toString("utf8")).toBe(log.frameAt(i));
    }
    expect(log.encodeFrame(0, Buffer.alloc(100), 0)).toBe(-1);
    expect(log.encodeFrame(60, Buffer.alloc(100), 0)).toBe(-1);
  });

  // Speed is for pnpm bench to measure, not for a test: a frame rate asserted here failed whenever the
  // machine was busy.
  test("a million events cost almost no memory, and frames are built on demand", () => {
    const before = process.memoryUsage().heapUsed;
    const log = new EventLog();
    for (let i = 0; i < 10; i++) log.appendMany(100_000);
    expect(log.length).toBe(1_000_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5 * 1024 * 1024);
    let bytes = 0;
    const target = Buffer.allocUnsafe(4096);
    for (let i = 0; i < 50_000; i++) bytes += log.encodeFrame(999_999 - i, target, 0);
    expect(bytes).toBeGreaterThan(50_000 * 500);
  });
});
