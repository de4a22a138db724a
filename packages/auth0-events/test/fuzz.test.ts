// No byte sequence crashes the client: random bytes, broken UTF-8, lone CRs, half fields, huge retry values.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createEventFactory, EventLog } from "@switchyard/testing";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type StreamItem, stream } from "../src/index.js";

const random = createEventFactory({ seed: 11 }).random;
const log = new EventLog();
log.appendMany(50);
const TOKENS = [
  "data: ",
  "event: ",
  "id: ",
  "retry: 99999999",
  ":",
  "\n",
  "\r",
  "\r\n",
  "\n\n",
  "{",
  '"offset"',
  "\u00ff",
  "🚀",
];

function garbage(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const r = random();
    if (r < 0.3)
      parts.push(
        Buffer.from(Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256))),
      );
    else if (r < 0.8) parts.push(Buffer.from(TOKENS[Math.floor(random() * TOKENS.length)] as string));
    else parts.push(Buffer.from(log.frameAt(Math.floor(random() * log.length))));
  }
  return Buffer.concat(parts);
}

let url = "";
let connections = 0;
const server = createServer((_req, res) => {
  connections++;
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.end(garbage());
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("40 connections of random bytes: no throw, only checked items", async () => {
  const controller = new AbortController();
  const items: StreamItem[] = [];
  let malformed = 0;
  for await (const item of stream({
    domain: url,
    auth: { token: "t" },
    signal: controller.signal,
    backoff: { initialMs: 1, maxMs: 2 },
    hooks: {
      onMalformed: () => malformed++,
      onConnect: ({ attempt }) => {
        if (attempt >= 40) controller.abort();
      },
    },
  })) {
    items.push(item);
  }
  expect(connections).toBeGreaterThanOrEqual(40);
  expect(malformed).toBeGreaterThan(0);
  for (const item of items) expect(typeof item.offset).toBe("string");
});
