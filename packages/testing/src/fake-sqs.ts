import { createHash, randomUUID } from "node:crypto";
import {
  type AwsJsonError,
  batchEntries,
  EntryFailures,
  type FakeAwsCredentials,
  type FakeAwsService,
  startFakeAwsJson,
} from "./fake-aws.js";

/** A message the fake SQS holds. */
export interface FakeSqsMessage {
  messageId: string;
  body: string;
  /** FIFO queues: the `MessageGroupId` and `MessageDeduplicationId` it was sent with. */
  groupId: string | undefined;
  deduplicationId: string | undefined;
  /** FIFO queues: the sequence number, increasing in the queue's order. */
  sequenceNumber: string | undefined;
  /** String message attributes, by name. */
  attributes: Record<string, string>;
}

export interface FakeSqsOptions {
  /** Queue names that exist (default: any name is accepted, and created on first send). */
  queues?: readonly string[];
  credentials?: FakeAwsCredentials;
  region?: string;
}

/** A per-entry failure: SQS's `Failed[]` item, `senderFault` as AWS reports it. */
export interface FakeSqsEntryFailure {
  code: string;
  senderFault: boolean;
}

export interface FakeSqs extends FakeAwsService {
  /** The URL of queue `name` on this fake (what the plugin's `queueUrl` should be). */
  queueUrl(name: string): string;
  /** Messages queue `name` holds, in queue order (FIFO duplicates within 5 minutes were dropped). */
  messages(name: string): FakeSqsMessage[];
  /** `SendMessageBatch` calls received (signed ones), with their entry counts. */
  calls(): number[];
  /** The next `count` entries fail alone (in `Failed[]`). */
  failEntriesNext(failure: FakeSqsEntryFailure, count?: number): void;
  recoverEntries(): void;
}

export const SEND_MESSAGE_BATCH_MAX_ENTRIES = 10;
export const SEND_MESSAGE_BATCH_MAX_BYTES = 256 * 1024;
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

const sqsError = (status: number, name: string, queryCode: string, message: string): AwsJsonError => ({
  status,
  type: `com.amazonaws.sqs#${name}`,
  message,
  // The SDK runs SQS in query-compatible mode and names errors after this header.
  headers: { "x-amzn-query-error": `${queryCode};${status >= 500 ? "Receiver" : "Sender"}` },
});

const THROTTLING = sqsError(400, "RequestThrottled", "RequestThrottled", "Request is throttled.");

/**
 * Start a fake AWS SQS on 127.0.0.1 speaking what the SDK v3 speaks today, AWS JSON 1.0
 * (`AmazonSQS.SendMessageBatch`), SigV4 checked. FIFO queues (`.fifo`) need `MessageGroupId` and
 * `MessageDeduplicationId` and drop a repeated deduplication id within 5 minutes, as SQS does; standard queues
 * keep every message. Per-entry failures, throttling and 5xx are injectable.
 */
export async function startFakeSqs(options: FakeSqsOptions = {}): Promise<FakeSqs> {
  const known = options.queues ? new Set(options.queues) : undefined;
  const queues = new Map<string, FakeSqsMessage[]>();
  const seen = new Map<string, { at: number; messageId: string; sequenceNumber: string | undefined }>();
  const callSizes: number[] = [];
  const entryFailures = new EntryFailures<FakeSqsEntryFailure>();
  let sequence = 0n;
  const invalid = (name: string, message: string) => ({
    error: sqsError(400, name, `AWS.SimpleQueueService.${name}`, message),
  });

  const service = await startFakeAwsJson({
    service: "sqs",
    targetPrefix: "AmazonSQS",
    contentType: "application/x-amz-json-1.0",
    throttling: THROTTLING,
    credentials: options.credentials,
    region: options.region,
    operations: {
      SendMessageBatch(input) {
        const name =
          String(input.QueueUrl ?? "")
            .split("/")
            .at(-1) ?? "";
        if (!name || (known && !known.has(name))) {
          return {
            error: sqsError(
              400,
              "QueueDoesNotExist",
              "AWS.SimpleQueueService.NonExistentQueue",
              "The specified queue does not exist.",
            ),
          };
        }
        const entries = batchEntries(input);
        if (!entries || entries.length === 0) return invalid("EmptyBatchRequest", "no entries");
        if (entries.length > SEND_MESSAGE_BATCH_MAX_ENTRIES) {
          return invalid("TooManyEntriesInBatchRequest", `${entries.length} entries: at most 10`);
        }
        const ids = entries.map((entry) => String(entry.Id));
        if (new Set(ids).size !== ids.length) return invalid("BatchEntryIdsNotDistinct", "repeated Id");
        const size = entries.reduce(
          (total, entry) => total + Buffer.byteLength(String(entry.MessageBody)),
          0,
        );
        if (size > SEND_MESSAGE_BATCH_MAX_BYTES) return invalid("BatchRequestTooLong", `${size} bytes`);
        const fifo = name.endsWith(".fifo");
        if (fifo && entries.some((e) => typeof e.MessageGroupId !== "string" || e.MessageGroupId === "")) {
          return invalid("MissingParameter", "The request must contain the parameter MessageGroupId.");
        }
        if (fifo && entries.some((e) => typeof e.MessageDeduplicationId !== "string")) {
          return invalid(
            "InvalidParameterValue",
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
          );
        }
        callSizes.push(entries.length);
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        const now = Date.now();
        const Successful: object[] = [];
        const Failed: object[] = [];
        for (const entry of entries) {
          const failure = entryFailures.next(entry);
          if (failure) {
            Failed.push({
              Id: entry.Id,
              SenderFault: failure.senderFault,
              Code: failure.code,
              Message: "fake failure",
            });
            continue;
          }
          const body = String(entry.MessageBody);
          const dedupeKey = fifo ? `${name}\n${String(entry.MessageDeduplicationId)}` : undefined;
          const earlier = dedupeKey === undefined ? undefined : seen.get(dedupeKey);
          let messageId: string = randomUUID();
          let sequenceNumber: string | undefined;
          if (earlier && now - earlier.at < DEDUPLICATION_WINDOW_MS) {
            // SQS accepts a duplicate within the window and answers as for the first, without enqueuing it.
            messageId = earlier.messageId;
            sequenceNumber = earlier.sequenceNumber;
          } else {
            if (fifo) {
              sequence += 1n;
              sequenceNumber = sequence.toString().padStart(20, "0");
            }
            if (dedupeKey !== undefined) seen.set(dedupeKey, { at: now, messageId, sequenceNumber });
            queue.push({
              messageId,
              body,
              groupId: fifo ? String(entry.MessageGroupId) : undefined,
              deduplicationId: fifo ? String(entry.MessageDeduplicationId) : undefined,
              sequenceNumber,
              attributes: stringAttributes(entry.MessageAttributes),
            });
          }
          Successful.push({
            Id: entry.Id,
            MessageId: messageId,
            MD5OfMessageBody: createHash("md5").update(body).digest("hex"),
            ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
          });
        }
        return { output: { Successful, Failed } };
      },
    },
  });

  return {
    ...service,
    queueUrl: (name) => `${service.endpoint}/123456789012/${name}`,
    messages: (name) => [...(queues.get(name) ?? [])],
    calls: () => [...callSizes],
    failEntriesNext: (failure, count) => entryFailures.failNext(failure, count),
    recoverEntries: () => entryFailures.clear(),
  };
}

function stringAttributes(value: unknown): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return attributes;
  for (const [name, attribute] of Object.entries(value as Record<string, { StringValue?: unknown }>)) {
    if (typeof attribute?.StringValue === "string") attributes[name] = attribute.StringValue;
  }
  return attributes;
}
