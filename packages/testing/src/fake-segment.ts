import { type FakeServer, type RecordedRequest, type Reply, startFakeServer } from "./fake-server.js";
import { waitFor } from "./wait-for.js";

const MAX_BATCH_BYTES = 500 * 1024;
const MAX_MESSAGE_BYTES = 32 * 1024;

/** One message inside a Segment batch (`track`, `identify`, `group`, …), as the SDK sent it. */
export interface SegmentMessage {
  type: string;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  event?: string;
  groupId?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  timestamp?: string;
  [field: string]: unknown;
}

/** A batch the fake accepted (answered 200). */
export interface SegmentBatch {
  batch: SegmentMessage[];
  sentAt?: string;
  receivedAt: number;
}

export interface FakeSegment {
  /** Base URL: pass it as the plugin's / SDK's `host`. */
  url: string;
  /** The underlying recording server, with its failure knobs (`failNext`, `failAlways`, `recover`). */
  server: FakeServer;
  /** Every message of every accepted batch, in arrival order. Rejected requests are only in `server.requests`. */
  messages(): SegmentMessage[];
  /** The accepted batches, in arrival order. */
  batches(): SegmentBatch[];
  /** Resolve once at least `count` accepted messages match `filter`. */
  waitForMessages(
    count: number,
    filter?: (message: SegmentMessage) => boolean,
    timeoutMs?: number,
  ): Promise<SegmentMessage[]>;
  close(): Promise<void>;
}

/**
 * Start a fake Segment tracking API on 127.0.0.1: `POST /v1/batch` with Basic auth of the write key
 * (401 otherwise; any key when `writeKey` is not given) answers 200 `{}` and records the batch; 400 to a
 * malformed batch, one over 500 KB or holding a message over 32 KB.
 */
export async function startFakeSegment(options: { writeKey?: string } = {}): Promise<FakeSegment> {
  const accepted: SegmentBatch[] = [];
  const expectedAuth =
    options.writeKey === undefined
      ? undefined
      : `Basic ${Buffer.from(`${options.writeKey}:`).toString("base64")}`;

  const reply = (request: RecordedRequest): Reply => {
    const path = request.path.split("?")[0];
    if (path !== "/v1/batch") return { status: 404, body: { error: "not found" } };
    if (request.method !== "POST") return { status: 405, body: { error: "method not allowed" } };
    const auth = request.headers.authorization;
    if (!auth?.startsWith("Basic ") || (expectedAuth !== undefined && auth !== expectedAuth)) {
      return { status: 401, body: { error: "invalid write key" } };
    }
    const json = request.json as { batch?: unknown; sentAt?: unknown } | undefined;
    if (!json || !Array.isArray(json.batch) || !json.batch.every(isMessage)) {
      return { status: 400, body: { error: "invalid batch" } };
    }
    // Segment's documented limits: 500 KB per batch request, 32 KB per message.
    if (Buffer.byteLength(request.body) > MAX_BATCH_BYTES) {
      return { status: 400, body: { error: "batch larger than 500 KB" } };
    }
    if (json.batch.some((message) => Buffer.byteLength(JSON.stringify(message)) > MAX_MESSAGE_BYTES)) {
      return { status: 400, body: { error: "message larger than 32 KB" } };
    }
    accepted.push({
      batch: json.batch,
      ...(typeof json.sentAt === "string" ? { sentAt: json.sentAt } : {}),
      receivedAt: Date.now(),
    });
    return { status: 200, body: {} };
  };

  const server = await startFakeServer(reply);
  const messages = () => accepted.flatMap((batch) => batch.batch);
  return {
    url: server.url,
    server,
    messages,
    batches: () => [...accepted],
    waitForMessages(count, filter = () => true, timeoutMs = 10_000) {
      return waitFor(
        () => {
          const matching = messages().filter(filter);
          return matching.length >= count ? matching : undefined;
        },
        { timeoutMs, message: `${count} Segment message(s) at ${server.port}` },
      );
    },
    close: () => server.close(),
  };
}

function isMessage(value: unknown): value is SegmentMessage {
  if (typeof value !== "object" || value === null) return false;
  const { type, messageId } = value as { type?: unknown; messageId?: unknown };
  return typeof type === "string" && typeof messageId === "string";
}
