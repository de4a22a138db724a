import { randomUUID } from "node:crypto";
import { startFakeEventBridge } from "@switchyard/testing";
import { describeDestination } from "@switchyard/testing/vitest";
import { afterAll } from "vitest";
import eventbridge, { type EventBridgeOptions } from "./index.js";

// The destination suite runs against a real server through its fault proxy: here the fake EventBridge.
const fake = await startFakeEventBridge();
afterAll(() => fake.close());

describeDestination<EventBridgeOptions>({
  name: "eventbridge",
  factory: eventbridge,
  server: { host: "127.0.0.1", port: fake.server.port },
  howToRun: "the fake EventBridge starts with the test",
  async setup(via) {
    // A Source of this test's own is its namespace on the shared bus.
    const source = `test.${randomUUID()}`;
    return {
      options: {
        source,
        endpoint: `http://${via.host}:${via.port}`,
        region: fake.region,
        credentials: fake.credentials,
      },
      // EventBridge has no message id: the event's own id is in the Detail, its type is the DetailType.
      read: async () =>
        fake
          .events()
          .filter((e) => e.source === source)
          .map((e) => ({
            id: (e.detail as { id: string }).id,
            type: e.detailType,
            body: JSON.stringify(e.detail),
          })),
      close: async () => {},
    };
  },
  invalidOptions: [
    { options: { endpoint: "x" }, option: "endpoint" },
    { options: { timeoutMs: 0 }, option: "timeoutMs" },
  ],
  // A request unanswered for timeoutMs is given up and its socket closed: the next one connects anew.
  quickLiveness: { timeoutMs: 1_000 },
  secrets: (options) => [options.credentials?.secretAccessKey ?? ""],
});
