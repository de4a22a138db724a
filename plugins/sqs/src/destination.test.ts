import { randomUUID } from "node:crypto";
import { startFakeSqs } from "@switchyard/testing";
import { describeDestination } from "@switchyard/testing/vitest";
import { afterAll } from "vitest";
import sqs, { type SqsOptions } from "./index.js";

// The destination suite runs against a real server through its fault proxy: here the fake SQS, one per file.
const fake = await startFakeSqs();
afterAll(() => fake.close());

describeDestination<SqsOptions>({
  name: "sqs",
  factory: sqs,
  server: { host: "127.0.0.1", port: fake.server.port },
  howToRun: "the fake SQS starts with the test",
  async setup(via) {
    const queue = `test-${randomUUID()}.fifo`;
    return {
      options: {
        queueUrl: fake.queueUrl(queue),
        endpoint: `http://${via.host}:${via.port}`,
        region: fake.region,
        credentials: fake.credentials,
      },
      // Queue order; the id and type are the message attributes.
      read: async () =>
        fake
          .messages(queue)
          .map((m) => ({ id: m.attributes.id ?? "", type: m.attributes.type ?? "", body: m.body })),
      close: async () => {},
    };
  },
  invalidOptions: [
    { options: {}, option: "queueUrl" },
    { options: { queueUrl: "https://x/1/q", timeoutMs: -1 }, option: "timeoutMs" },
  ],
  // A request unanswered for timeoutMs is given up and its socket closed: the next one connects anew.
  quickLiveness: { timeoutMs: 1_000 },
  secrets: (options) => [options.credentials?.secretAccessKey ?? ""],
});
