export { EventLog } from "./event-log.js";
export type { EventFactory, EventFactoryOptions, EventOverrides } from "./factories.js";
export { createEventFactory, events } from "./factories.js";
export type {
  AwsJsonError,
  FakeAwsClientConfig,
  FakeAwsCredentials,
  FakeAwsService,
} from "./fake-aws.js";
export { awsJsonFailure } from "./fake-aws.js";
export type { FakeEventBridge, FakeEventBridgeEvent, FakeEventBridgeOptions } from "./fake-eventbridge.js";
export { PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES, startFakeEventBridge } from "./fake-eventbridge.js";
export type { FakeSegment, SegmentBatch, SegmentMessage } from "./fake-segment.js";
export { startFakeSegment } from "./fake-segment.js";
export type { Failure, FakeServer, RecordedRequest, Reply } from "./fake-server.js";
export { startFakeServer } from "./fake-server.js";
export type { FakeSlack, FakeSlackMessage, FakeSlackOptions } from "./fake-slack.js";
export { slackError, slackRateLimited, startFakeSlack } from "./fake-slack.js";
export type { FakeSqs, FakeSqsEntryFailure, FakeSqsMessage, FakeSqsOptions } from "./fake-sqs.js";
export {
  SEND_MESSAGE_BATCH_MAX_BYTES,
  SEND_MESSAGE_BATCH_MAX_ENTRIES,
  startFakeSqs,
} from "./fake-sqs.js";
export type { FakeTenant, FakeTenantOptions } from "./fake-tenant.js";
export { startFakeTenant } from "./fake-tenant.js";
export type { FakeWebhook, FakeWebhookOptions, WebhookDelivery } from "./fake-webhook.js";
export { startFakeWebhook } from "./fake-webhook.js";
export type { FaultProxy, TcpAddress } from "./fault-proxy.js";
export { serverAvailable, startFaultProxy } from "./fault-proxy.js";
export { findSecrets } from "./find-secrets.js";
export type { CapturedLog, RunActionOptions, RunActionResult } from "./run-action.js";
export { createCapturingLogger, runAction } from "./run-action.js";
export { waitFor } from "./wait-for.js";
