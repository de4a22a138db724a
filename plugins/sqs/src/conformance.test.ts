import { awsJsonFailure, startFakeSqs } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect } from "vitest";
import sqs, { type SqsOptions } from "./index.js";

const json = "application/x-amz-json-1.0";

testAction<SqsOptions>({
  name: "sqs",
  factory: sqs,
  async setup() {
    const fake = await startFakeSqs({ queues: ["identity.fifo"] });
    return {
      options: {
        queueUrl: fake.queueUrl("identity.fifo"),
        region: fake.region,
        endpoint: fake.endpoint,
        credentials: fake.credentials,
      },
      server: fake.server,
      close: () => fake.close(),
    };
  },
  invalidOptions: [
    { options: {}, error: /missing option "queueUrl"/ },
    { options: { queueUrl: "identity" }, error: /option "queueUrl": must be the queue's URL/ },
    { options: { queueUrl: "https://x/1/q", endpoint: "ftp://x" }, error: /option "endpoint"/ },
    { options: { queueUrl: "https://x/1/q", region: "Europe" }, error: /option "region"/ },
    { options: { queueUrl: "https://x/1/q", eventBusName: "b" }, error: /eventBusName/ },
  ],
  secrets: (options) => [options.credentials?.secretAccessKey ?? ""],
  retryable: [
    { status: 500, body: '{"__type":"com.amazonaws.sqs#InternalError","message":"x"}' },
    { status: 503 },
    awsJsonFailure(
      {
        status: 400,
        type: "com.amazonaws.sqs#RequestThrottled",
        message: "slow down",
        headers: { "x-amzn-query-error": "RequestThrottled;Sender" },
      },
      json,
    ),
    { drop: true },
  ],
  permanent: [
    awsJsonFailure(
      {
        status: 400,
        type: "com.amazonaws.sqs#QueueDoesNotExist",
        message: "no queue",
        headers: { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" },
      },
      json,
    ),
    awsJsonFailure({ status: 400, type: "com.amazonaws.sqs#InvalidParameterValue", message: "bad" }, json),
    awsJsonFailure({ status: 403, type: "AccessDeniedException", message: "no" }, json),
  ],
  delivered(server, event) {
    const request = server.requests.at(-1)!;
    expect(request.headers["x-amz-target"]).toBe("AmazonSQS.SendMessageBatch");
    const entry = (request.json as { Entries: Array<Record<string, unknown>> }).Entries[0]!;
    expect(JSON.parse(String(entry.MessageBody))).toEqual(event);
    expect(entry.MessageDeduplicationId).toBe(event.id);
    expect(typeof entry.MessageGroupId).toBe("string");
  },
});
