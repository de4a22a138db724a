import { awsJsonFailure, startFakeEventBridge } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect } from "vitest";
import eventbridge, { type EventBridgeOptions } from "./index.js";

const json = "application/x-amz-json-1.1";

testAction<EventBridgeOptions>({
  name: "eventbridge",
  factory: eventbridge,
  async setup() {
    const fake = await startFakeEventBridge({ buses: ["identity"] });
    return {
      options: {
        eventBusName: "identity",
        region: fake.region,
        endpoint: fake.endpoint,
        credentials: fake.credentials,
      },
      server: fake.server,
      close: () => fake.close(),
    };
  },
  invalidOptions: [
    { options: { endpoint: "ftp://x" }, error: /option "endpoint": must be an http\(s\) URL/ },
    { options: { region: "US East" }, error: /option "region"/ },
    { options: { source: "aws.events" }, error: /option "source": must not start with "aws\."/ },
    { options: { credentials: { accessKeyId: "a" } }, error: /missing option "credentials.secretAccessKey"/ },
    { options: { eventBusName: "" }, error: /option "eventBusName"/ },
    { options: { queueUrl: "x" }, error: /queueUrl/ },
  ],
  secrets: (options) => [options.credentials?.secretAccessKey ?? ""],
  retryable: [
    { status: 500, body: '{"__type":"InternalException","message":"x"}' },
    { status: 503 },
    awsJsonFailure({ status: 400, type: "ThrottlingException", message: "Rate exceeded" }, json),
    { drop: true },
  ],
  permanent: [
    awsJsonFailure({ status: 400, type: "ValidationException", message: "bad" }, json),
    awsJsonFailure({ status: 400, type: "AccessDeniedException", message: "no" }, json),
    awsJsonFailure({ status: 400, type: "ResourceNotFoundException", message: "no bus" }, json),
  ],
  delivered(server, event) {
    const request = server.requests.at(-1)!;
    expect(request.headers["x-amz-target"]).toBe("AWSEvents.PutEvents");
    const entry = (request.json as { Entries: Array<Record<string, unknown>> }).Entries[0]!;
    expect(entry.DetailType).toBe(event.type);
    expect(JSON.parse(String(entry.Detail))).toEqual(event);
    expect(entry.EventBusName).toBe("identity");
  },
});
