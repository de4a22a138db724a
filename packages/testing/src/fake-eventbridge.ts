import { randomUUID } from "node:crypto";
import {
  type AwsJsonError,
  batchEntries,
  EntryFailures,
  type FakeAwsCredentials,
  type FakeAwsService,
  startFakeAwsJson,
} from "./fake-aws.js";

/** An event the fake EventBridge accepted through `PutEvents`. */
export interface FakeEventBridgeEvent {
  /** The `EventId` the fake answered with. */
  eventId: string;
  eventBusName: string;
  source: string;
  detailType: string;
  /** `Detail`, parsed. */
  detail: unknown;
  /** `Time`, when the entry set one (ISO-8601). */
  time: string | undefined;
  resources: string[];
}

export interface FakeEventBridgeOptions {
  /** Buses that exist (default `["default"]`); a `PutEvents` to another answers ResourceNotFoundException. */
  buses?: readonly string[];
  credentials?: FakeAwsCredentials;
  region?: string;
}

export interface FakeEventBridge extends FakeAwsService {
  /** Accepted events, in order. */
  events(eventBusName?: string): FakeEventBridgeEvent[];
  /** `PutEvents` calls received (signed ones), with their entry counts. */
  calls(): number[];
  /** The next `count` entries fail alone with this `ErrorCode` (e.g. `ThrottlingException`, `InternalFailure`). */
  failEntriesNext(errorCode: string, count?: number): void;
  /** Fail every entry for which `choose` returns an `ErrorCode`, until `recoverEntries()`. */
  failEntriesWhere(choose: (entry: Record<string, unknown>) => string | undefined): void;
  recoverEntries(): void;
}

/** AWS's limits on one `PutEvents` call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

const THROTTLING: AwsJsonError = { status: 400, type: "ThrottlingException", message: "Rate exceeded" };

/**
 * Start a fake AWS EventBridge on 127.0.0.1 (AWS JSON 1.1, `AWSEvents.PutEvents`, SigV4 checked): at most 10
 * entries and 256 KB per call as AWS enforces, a `FailedEntryCount` with per-entry `ErrorCode`s when told to,
 * whole-call throttling and 5xx through `throttleNext` / `failNext`.
 */
export async function startFakeEventBridge(options: FakeEventBridgeOptions = {}): Promise<FakeEventBridge> {
  const buses = new Set(options.buses ?? ["default"]);
  const accepted: FakeEventBridgeEvent[] = [];
  const callSizes: number[] = [];
  const entryFailures = new EntryFailures<string>();
  const invalid = (message: string) => ({ error: { status: 400, type: "ValidationException", message } });

  const service = await startFakeAwsJson({
    service: "events",
    targetPrefix: "AWSEvents",
    contentType: "application/x-amz-json-1.1",
    throttling: THROTTLING,
    credentials: options.credentials,
    region: options.region,
    operations: {
      PutEvents(input) {
        const entries = batchEntries(input);
        if (!entries || entries.length === 0) return invalid("Entries must hold at least 1 entry");
        if (entries.length > PUT_EVENTS_MAX_ENTRIES) {
          return invalid(`Entries holds ${entries.length} entries: at most ${PUT_EVENTS_MAX_ENTRIES}`);
        }
        const size = entries.reduce((total, entry) => total + entrySize(entry), 0);
        if (size > PUT_EVENTS_MAX_BYTES) return invalid(`Total size of the entries is ${size}: over 256 KB`);
        for (const entry of entries) {
          const bus = String(entry.EventBusName ?? "default").replace(/^arn:.*:event-bus\//, "");
          if (!buses.has(bus)) {
            return {
              error: {
                status: 400,
                type: "ResourceNotFoundException",
                message: `Event bus ${bus} does not exist.`,
              },
            };
          }
        }
        callSizes.push(entries.length);
        let failed = 0;
        const results = entries.map((entry) => {
          const malformed = entryProblem(entry);
          const code = malformed ?? entryFailures.next(entry);
          if (code) {
            failed += 1;
            return { ErrorCode: code, ErrorMessage: malformed ? "Detail is malformed." : `fake ${code}` };
          }
          const eventId = randomUUID();
          accepted.push({
            eventId,
            eventBusName: String(entry.EventBusName ?? "default").replace(/^arn:.*:event-bus\//, ""),
            source: String(entry.Source),
            detailType: String(entry.DetailType),
            detail: JSON.parse(String(entry.Detail)),
            time: timeOf(entry.Time),
            resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
          });
          return { EventId: eventId };
        });
        return { output: { FailedEntryCount: failed, Entries: results } };
      },
    },
  });

  return {
    ...service,
    events: (bus) => accepted.filter((event) => bus === undefined || event.eventBusName === bus),
    calls: () => [...callSizes],
    failEntriesNext: (code, count) => entryFailures.failNext(code, count),
    failEntriesWhere: (choose) => entryFailures.failWhere(choose),
    recoverEntries: () => entryFailures.clear(),
  };
}

// AWS counts Source, DetailType, Detail and Resources in UTF-8 bytes, plus 14 bytes for a Time.
function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const field of [entry.Source, entry.DetailType, entry.Detail]) {
    if (typeof field === "string") size += Buffer.byteLength(field);
  }
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) size += Buffer.byteLength(String(r));
  return size;
}

function entryProblem(entry: Record<string, unknown>): string | undefined {
  if (typeof entry.Source !== "string" || entry.Source === "") return "InvalidArgument";
  if (typeof entry.DetailType !== "string" || entry.DetailType === "") return "InvalidArgument";
  try {
    const detail = JSON.parse(String(entry.Detail));
    return typeof detail === "object" && detail !== null && !Array.isArray(detail)
      ? undefined
      : "MalformedDetail";
  } catch {
    return "MalformedDetail";
  }
}

// The SDK sends a timestamp as epoch seconds (a number) in AWS JSON.
function timeOf(value: unknown): string | undefined {
  if (typeof value === "number") return new Date(value * 1000).toISOString();
  if (typeof value === "string") return new Date(value).toISOString();
  return undefined;
}
