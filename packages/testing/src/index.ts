export type { EventFactory, EventFactoryOptions, EventOverrides } from "./factories.js";
export { createEventFactory, events } from "./factories.js";
export type { Failure, FakeServer, RecordedRequest, Reply } from "./fake-server.js";
export { startFakeServer } from "./fake-server.js";
export { waitFor } from "./wait-for.js";
export type { FakeSegment, SegmentBatch, SegmentMessage } from "./fake-segment.js";
export { startFakeSegment } from "./fake-segment.js";
export type { FakeSlack, FakeSlackMessage, FakeSlackOptions } from "./fake-slack.js";
export { slackError, slackRateLimited, startFakeSlack } from "./fake-slack.js";
