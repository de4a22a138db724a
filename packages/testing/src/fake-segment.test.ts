import { afterEach, describe, expect, it } from "vitest";
import { type FakeSegment, startFakeSegment } from "./fake-segment.js";

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
const message = (id: string) => ({ type: "track", event: "User Created", userId: "u1", messageId: id });

async function post(segment: FakeSegment, body: unknown, auth = basic("wk_test"), path = "/v1/batch") {
  const response = await fetch(`${segment.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: auth },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe("startFakeSegment", () => {
  let segment: FakeSegment;
  afterEach(() => segment.close());

  it("accepts a batch with the right write key and records its messages in order", async () => {
    segment = await startFakeSegment({ writeKey: "wk_test" });
    expect(
      await post(segment, { batch: [message("a"), message("b")], sentAt: "2026-11-01T00:00:00Z" }),
    ).toMatchObject({ status: 200, body: "{}" });
    expect((await post(segment, { batch: [message("c")] })).status).toBe(200);
    expect(segment.messages().map((m) => m.messageId)).toEqual(["a", "b", "c"]);
    expect(segment.batches()).toHaveLength(2);
    expect(segment.batches()[0]?.sentAt).toBe("2026-11-01T00:00:00Z");
    expect(await segment.waitForMessages(3)).toHaveLength(3);
  });

  it("answers 401 to a wrong or missing write key, 400 to a malformed batch, 404 elsewhere", async () => {
    segment = await startFakeSegment({ writeKey: "wk_test" });
    expect((await post(segment, { batch: [message("a")] }, basic("wk_other"))).status).toBe(401);
    expect((await post(segment, { batch: [message("a")] }, "")).status).toBe(401);
    expect((await post(segment, { batch: [{ type: "track" }] })).status).toBe(400);
    expect((await post(segment, { nope: true })).status).toBe(400);
    const huge = { ...message("big"), properties: { blob: "x".repeat(33 * 1024) } };
    expect((await post(segment, { batch: [huge] })).status).toBe(400);
    const many = Array.from({ length: 20 }, (_, i) => ({
      ...message(`m${i}`),
      properties: { blob: "x".repeat(30_000) },
    }));
    expect((await post(segment, { batch: many })).status).toBe(400);
    expect((await post(segment, { batch: [] }, basic("wk_test"), "/v1/track")).status).toBe(404);
    expect(segment.messages()).toEqual([]);
    expect(segment.server.requests).toHaveLength(7);
  });

  it("takes any write key when none is configured", async () => {
    segment = await startFakeSegment();
    expect((await post(segment, { batch: [message("a")] }, basic("anything"))).status).toBe(200);
  });

  it("fails on demand through the server's knobs, without recording the rejected batch", async () => {
    segment = await startFakeSegment({ writeKey: "wk_test" });
    segment.server.failNext({ status: 429, headers: { "retry-after": "7" } });
    segment.server.failNext({ status: 503 });
    const limited = await post(segment, { batch: [message("a")] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect((await post(segment, { batch: [message("a")] })).status).toBe(503);
    expect(segment.messages()).toEqual([]);
    expect((await post(segment, { batch: [message("a")] })).status).toBe(200);
    expect(segment.messages()).toHaveLength(1);
  });

  it("records a slow answer once it is given", async () => {
    segment = await startFakeSegment({ writeKey: "wk_test" });
    segment.server.failNext({ delayMs: 150 });
    const pending = post(segment, { batch: [message("slow")] });
    await segment.server.waitForRequests(1);
    expect(segment.messages()).toEqual([]);
    expect((await pending).status).toBe(200);
    expect(segment.messages().map((m) => m.messageId)).toEqual(["slow"]);
  });
});
