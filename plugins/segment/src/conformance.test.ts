import { randomBytes } from "node:crypto";
import { type SegmentMessage, startFakeSegment } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect } from "vitest";
import { titleCase } from "./default-mapping.js";
import segment, { type SegmentOptions } from "./index.js";

const writeKey = `wk_${randomBytes(16).toString("hex")}`;

testAction<SegmentOptions>({
  name: "segment",
  factory: segment,
  async setup() {
    const fake = await startFakeSegment({ writeKey });
    return {
      // A short flush interval keeps the suite fast (the default, 500 ms, batches more).
      options: { writeKey, host: fake.url, flushIntervalMs: 20 },
      server: fake.server,
      close: () => fake.close(),
    };
  },
  invalidOptions: [
    { options: {}, error: /missing option "writeKey"/ },
    { options: { writeKey: "" }, error: /option "writeKey"/ },
    { options: { writeKey, host: "not a url" }, error: /option "host"/ },
    { options: { writeKey, host: "ftp://example.com" }, error: /option "host"/ },
    { options: { writeKey, path: "v1/batch" }, error: /option "path"/ },
    { options: { writeKey, flushAt: 0 }, error: /option "flushAt"/ },
    { options: { writeKey, flushIntervalMs: -1 }, error: /option "flushIntervalMs"/ },
    { options: { writeKey, maxRetries: 3 }, error: /maxRetries/ },
    { options: { writeKey, mapping: { "user*": false } }, error: /not a valid event pattern/ },
    {
      options: { writeKey, mapping: { "user.created": "Signed Up" } },
      error: /option "mapping.user.created"/,
    },
    {
      options: { writeKey, mapping: { "user.created": { name: "x" } } },
      error: /option "mapping.user.created"/,
    },
  ],
  secrets: (options) => [options.writeKey],
  retryable: [
    { status: 500 },
    { status: 502 },
    { status: 503, headers: { "retry-after": "7" } },
    { status: 408 },
    { status: 410 },
    { status: 429, headers: { "retry-after": "7" } },
    { drop: true },
  ],
  permanent: [{ status: 400 }, { status: 401 }, { status: 403 }, { status: 413 }, { status: 501 }],
  retryAfterMs: 7_000,
  slowMs: 800,
  delivered(server, event) {
    const messages = server.requests.flatMap(
      (request) => (request.json as { batch?: SegmentMessage[] } | undefined)?.batch ?? [],
    );
    const track = messages.find((message) => message.messageId === event.id);
    expect(track).toMatchObject({ type: "track", event: titleCase(event.type), timestamp: event.time });
    expect(track?.userId ?? track?.anonymousId).toBeTruthy();
    expect(server.requests.at(-1)?.path).toBe("/v1/batch");
  },
});
