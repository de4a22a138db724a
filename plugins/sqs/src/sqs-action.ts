import { createHash } from "node:crypto";
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SendMessageBatchResult,
  SQSClient,
} from "@aws-sdk/client-sqs";
import {
  type Action,
  abortable,
  awsSdkError,
  createBatcher,
  errorPrefix,
  isRetryableAwsCode,
  PermanentError,
  RetryableError,
  subjectOf,
} from "@switchyard/core";
import type { ResolvedSqsOptions } from "./options.js";

const PREFIX = errorPrefix("sqs");
/** AWS's limits on one SendMessageBatch call. */
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;
/** Calls under way at once; beyond it, deliveries gather into the next calls (fuller, fewer requests). */
const MAX_CALLS_IN_FLIGHT = 16;

interface Message {
  entry: Omit<SendMessageBatchRequestEntry, "Id">;
  eventId: string;
  size: number;
}

/** The SQS action: one SDK client, and one batcher coalescing concurrent deliveries. */
export function createSqsAction(options: ResolvedSqsOptions): Action {
  const url = new URL(options.queueUrl);
  const queueName = url.pathname.split("/").at(-1) ?? "";
  const fifo = queueName.endsWith(".fifo");
  const client = new SQSClient({
    region: options.region ?? /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1],
    endpoint: options.endpoint,
    credentials: options.credentials,
    // Retries are the host's (durable, visible, counted); the SDK's would be hidden inside one attempt.
    maxAttempts: 1,
    requestHandler: { requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs },
  });
  const where = `SendMessageBatch to queue ${queueName}`;
  let closed = false;

  const batcher = createBatcher<Message, void>({
    maxItems: MAX_ENTRIES,
    maxBytes: MAX_BYTES,
    maxInFlight: MAX_CALLS_IN_FLIGHT,
    sizeOf: (message) => message.size,
    async send(messages) {
      let answer: SendMessageBatchResult;
      try {
        answer = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: options.queueUrl,
            // In a FIFO queue, messages of one batch are enqueued in this order.
            Entries: messages.map((message, index) => ({ ...message.entry, Id: String(index) })),
          }),
        );
      } catch (error) {
        throw awsSdkError(error, `${PREFIX} ${where}`);
      }
      const failed = new Map((answer.Failed ?? []).map((entry) => [entry.Id, entry]));
      const sent = new Set((answer.Successful ?? []).map((entry) => entry.Id));
      return messages.map((message, index) => {
        const id = String(index);
        if (sent.has(id)) return undefined;
        const failure = failed.get(id);
        const code = failure?.Code ?? "no answer for the entry";
        const text = `${PREFIX} ${where}: the message of ${message.eventId} failed: ${code}`;
        // SQS says whose fault it was: the sender's will fail again, SQS's own may pass next time.
        return failure?.SenderFault === true && !isRetryableAwsCode(code)
          ? new PermanentError(text)
          : new RetryableError(text);
      });
    },
  });

  return {
    async onExecuteEventStream({ message, encoded }, api) {
      if (closed) throw new RetryableError(`${PREFIX} the action is closing`);
      const body = encoded?.json ?? JSON.stringify(message);
      const size = Buffer.byteLength(body);
      if (size > MAX_BYTES) {
        throw new PermanentError(`${PREFIX} event ${message.id} is ${size} bytes, over SQS's 256 KB`);
      }
      const entry: Message["entry"] = {
        MessageBody: body,
        MessageAttributes: {
          id: { DataType: "String", StringValue: message.id },
          type: { DataType: "String", StringValue: message.type },
        },
      };
      if (fifo) {
        // Events without a subject share one group: still in order, only less parallel.
        entry.MessageGroupId = groupId(subjectOf(message) ?? "auth0");
        entry.MessageDeduplicationId = groupId(message.id);
      }
      const aborted = () => new RetryableError(`${PREFIX} ${where}: aborted by the host before SQS answered`);
      await abortable(
        batcher.add({ entry, eventId: message.id, size }, api.signal, aborted),
        api.signal,
        aborted,
      );
    },
    close() {
      closed = true;
      client.destroy();
    },
  };
}

/** SQS takes at most 128 characters for a group or deduplication id: a longer one becomes its SHA-256. */
function groupId(value: string): string {
  return value.length <= 128 ? value : createHash("sha256").update(value).digest("hex");
}
