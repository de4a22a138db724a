import { definePlugin } from "@switchyard/core";
import { sqsOptions } from "./options.js";
import { createSqsAction } from "./sqs-action.js";

export type { ResolvedSqsOptions, SqsOptions } from "./options.js";
export { sqsOptions } from "./options.js";

/**
 * Send each event's CloudEvent JSON to an SQS queue (`SendMessageBatch`). A FIFO queue gets `MessageGroupId`
 * = the event's subject (per-user order) and `MessageDeduplicationId` = the event id (redeliveries dropped).
 */
const sqs = definePlugin({ name: "sqs", options: sqsOptions, create: createSqsAction });
export default sqs;
