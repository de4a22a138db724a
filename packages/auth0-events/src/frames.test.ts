import { EventLog } from "@switchyard/testing";
import { expect, test } from "vitest";
import { eventText, FrameReader } from "./frames.js";
import type { StreamItem } from "./options.js";

const log = new EventLog();
log.appendMany(4);
const offset = log.offsetOf(3);
const text = `:connected\nretry: 1500\n\n${[0, 1, 2, 3].map((i) => log.frameAt(i)).join("")}: heartbeat\n\nevent: offset-only\nid: ${offset}\ndata: {"offset":"${offset}"}\n\n\n`;

function read(chunks: Buffer[]): { items: StreamItem[]; retryMs: number | undefined } {
  const reader = new FrameReader({});
  const items: StreamItem[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    items.push(...reader.take());
  }
  return { items, retryMs: reader.retryMs };
}

test("the same items whatever the read boundaries, LF or CRLF", () => {
  for (const variant of [text, text.replaceAll("\n", "\r\n")]) {
    const bytes = Buffer.from(variant);
    const whole = read([bytes]);
    expect(whole.items).toHaveLength(5);
    expect(whole.items.at(-1)).toEqual({ kind: "offset", offset });
    expect(whole.retryMs).toBe(1500);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      expect(read([bytes.subarray(0, cut), bytes.subarray(cut)]).items).toEqual(whole.items);
    }
    const bytewise = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(read(bytewise).items).toEqual(whole.items);
  }
});

test("an event item carries the event's JSON text as the frame held it", () => {
  const { items } = read([Buffer.from(text)]);
  const events = items.filter((item) => item.kind === "event");
  expect(events.map((item) => item.json)).toEqual([0, 1, 2, 3].map((i) => log.jsonAt(i)));
  for (const item of events) expect(JSON.parse(item.json)).toEqual(item.event);
});

test("an event frame shaped otherwise gets the event's JSON, serialised", () => {
  const event = JSON.parse(log.jsonAt(0)) as object;
  // Keys in another order and spaces: not the shape eventText reads, so the event is serialised.
  const data = JSON.stringify({ event, offset: "b2Zm" }, null, 1).replaceAll("\n", "");
  const [item] = read([Buffer.from(`event: ${log.typeAt(0)}\nid: b2Zm\ndata: ${data}\n\n`)]).items;
  expect(item).toMatchObject({ kind: "event", offset: "b2Zm", json: JSON.stringify(event) });
});

test("an error frame stops the items of its connection", () => {
  const reader = new FrameReader({});
  reader.push(
    Buffer.from(`event: error\ndata: {"error":{"code":"connection_timeout"}}\n\n${log.frameAt(0)}`),
  );
  expect(reader.errorFrame).toMatchObject({ code: "connection_timeout" });
  expect(reader.take()).toEqual([]);
});

test("eventText finds the event's own JSON text in an Auth0-shaped frame", () => {
  {
    const event = { id: "evt_1", data: { object: { event: "nested" } } };
    const data = `{"offset":"b2Zm","event":${JSON.stringify(event)}}`;
    expect(JSON.parse(eventText(data)!)).toEqual(event);
    expect(eventText(`{"event":{},"offset":"x"}`)).toBeUndefined();
    expect(eventText(`{"offset":"a\\"b","event":{}}`)).toBeUndefined();
    expect(eventText(`{"offset":"x"}`)).toBeUndefined();
  }
});
