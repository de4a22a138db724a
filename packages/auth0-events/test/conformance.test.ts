// The same bytes through the official auth0 SDK (client.events.subscribe) and through stream(): same items.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { EventLog, events } from "@switchyard/testing";
import { ManagementClient } from "auth0";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type StreamItem, stream } from "../src/index.js";

const log = new EventLog({ seed: 5 });
log.appendMany(75);
log.append([{ ...events.userCreated(), type: "user.teleported" } as never]);
const frames: string[] = [];
for (let i = 0; i < log.length; i++) {
  frames.push(log.frameAt(i));
  if (i % 20 === 19) {
    const offset = log.offsetOf(i);
    frames.push(`: heartbeat\n\nevent: offset-only\nid: ${offset}\ndata: {"offset":"${offset}"}\n\n`);
  }
}
const body = Buffer.from(`:connected\nretry: 2000\n\n${frames.join("")}`);
const expectedCount = log.length + Math.floor(log.length / 20);

let url = "";
const server = createServer(async (_req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  // Deterministic cuts at odd byte boundaries, inside UTF-8 sequences included.
  for (let at = 0, n = 1; at < body.length; at += n, n = (n * 7 + 13) % 1999) {
    res.write(body.subarray(at, at + n));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("the official SDK and stream() yield the same items from the same bytes", async () => {
  // auth0 v7 builds https://{domain}/api/v2 and takes a `fetch` option: point it at the local server.
  const client = new ManagementClient({
    domain: "conformance.example.com",
    token: "test-token",
    fetch: (input, init) => fetch(String(input).replace("https://conformance.example.com", url), init),
  });
  // The SDK's items, in our shape less `json` (the event's text, which the SDK does not keep).
  const fromSdk: unknown[] = [];
  for await (const message of await client.events.subscribe({ from: "start" })) {
    const { type, offset, event } = message as unknown as { type: string; offset: string; event?: never };
    fromSdk.push(
      type === "offset-only" ? { kind: "offset", offset } : { kind: "event", offset, event: event as never },
    );
  }

  const ours: StreamItem[] = [];
  const controller = new AbortController();
  for await (const item of stream({
    domain: url,
    auth: { token: "test-token" },
    cursor: "start",
    signal: controller.signal,
  })) {
    ours.push(item);
    if (ours.length === expectedCount) controller.abort();
  }

  expect(fromSdk).toHaveLength(expectedCount);
  for (const item of ours) if (item.kind === "event") expect(JSON.parse(item.json)).toEqual(item.event);
  expect(ours.map((item) => (item.kind === "event" ? { ...item, json: undefined } : item))).toEqual(fromSdk);
  expect(ours.filter((item) => item.kind === "offset")).toHaveLength(3);
  expect(JSON.stringify(ours)).toContain("Zoë Ångström-山田");
  expect(ours.some((item) => item.kind === "event" && item.event.type === "user.teleported")).toBe(true);
});
