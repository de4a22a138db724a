import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import {
  type Action,
  abortable,
  awsSdkError,
  createBatcher,
  errorPrefix,
  isRetryableAwsCode,
  PermanentError,
  RetryableError,
} from "@switchyard/core";
import type { ResolvedEventBridgeOptions } from "./options.js";

const PREFIX = errorPrefix("eventbridge");
/** AWS's limits on one PutEvents call. */
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;
/** Calls under way at once; beyond it, deliveries gather into the next calls (fuller, fewer requests). */
const MAX_CALLS_IN_FLIGHT = 16;

interface Entry {
  entry: PutEventsRequestEntry;
  eventId: string;
  size: number;
}

/** The EventBridge action: one SDK client, and one batcher coalescing concurrent deliveries. */
export function createEventBridgeAction(options: ResolvedEventBridgeOptions): Action {
  const client = new EventBridgeClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    // Retries are the host's (durable, visible, counted); the SDK's would be hidden inside one attempt.
    maxAttempts: 1,
    requestHandler: { requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs },
  });
  const where = `PutEvents to bus ${options.eventBusName}`;
  let closed = false;

  const batcher = createBatcher<Entry, void>({
    maxItems: MAX_ENTRIES,
    maxBytes: MAX_BYTES,
    maxInFlight: MAX_CALLS_IN_FLIGHT,
    sizeOf: (item) => item.size,
    async send(items) {
      let answer: PutEventsResultEntry[];
      try {
        const output = await client.send(new PutEventsCommand({ Entries: items.map((item) => item.entry) }));
        answer = output.Entries ?? [];
      } catch (error) {
        throw awsSdkError(error, `${PREFIX} ${where}`);
      }
      // Entries answer in the order sent; an entry with an ErrorCode failed alone.
      return items.map((item, index) => {
        const result = answer[index];
        if (result?.EventId !== undefined && result.ErrorCode === undefined) return undefined;
        const code = result?.ErrorCode ?? "no answer for the entry";
        const text = `${PREFIX} ${where}: the entry of ${item.eventId} failed: ${code}`;
        return isRetryableAwsCode(code) ? new RetryableError(text) : new PermanentError(text);
      });
    },
  });

  return {
    async onExecuteEventStream({ message, encoded }, api) {
      if (closed) throw new RetryableError(`${PREFIX} the action is closing`);
      const detail = encoded?.json ?? JSON.stringify(message);
      const source = options.source ?? `auth0.${message.a0tenant ?? "tenant"}`;
      const size =
        Buffer.byteLength(detail) + Buffer.byteLength(source) + Buffer.byteLength(message.type) + 14;
      if (size > MAX_BYTES) {
        throw new PermanentError(`${PREFIX} event ${message.id} is ${size} bytes, over EventBridge's 256 KB`);
      }
      const entry: PutEventsRequestEntry = {
        EventBusName: options.eventBusName,
        Source: source,
        DetailType: message.type,
        Detail: detail,
        Time: new Date(message.time),
      };
      const aborted = () =>
        new RetryableError(`${PREFIX} ${where}: aborted by the host before EventBridge answered`);
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
