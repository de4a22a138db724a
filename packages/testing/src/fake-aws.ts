import { type FakeAwsCredentials, sigV4Problem } from "./aws-sigv4.js";
import {
  type Failure,
  type FakeServer,
  type RecordedRequest,
  type Reply,
  startFakeServer,
} from "./fake-server.js";

export type { FakeAwsCredentials } from "./aws-sigv4.js";

/** Where the AWS SDK v3 should send its requests to reach a fake: pass these to the client's constructor. */
export interface FakeAwsClientConfig {
  endpoint: string;
  region: string;
  credentials: FakeAwsCredentials;
}

/** What every fake AWS service shares. */
export interface FakeAwsService extends FakeAwsClientConfig {
  /** The recording HTTP server underneath, with its failure knobs (5xx, slow answers, drops). */
  server: FakeServer;
  /** Requests refused because their SigV4 signature was missing or wrong, with the reason. */
  unsigned: Array<{ target: string; reason: string }>;
  /** Make the next `times` requests fail this way (same as `server.failNext`). */
  failNext(failure: Failure, times?: number): void;
  /** Answer the next `times` requests with the service's throttling error (HTTP 400). */
  throttleNext(times?: number): void;
  close(): Promise<void>;
}

/** An error as the AWS JSON protocols send it: a status, the error type in the body and in a header. */
export interface AwsJsonError {
  status: number;
  type: string;
  message: string;
  /** Extra headers, e.g. SQS's `x-amzn-query-error`. */
  headers?: Record<string, string>;
}

/** The answer to an operation: its output, or an error. */
export type OperationAnswer = { output: object } | { error: AwsJsonError };

/** One operation of a fake service: gets the parsed JSON input. */
export type Operation = (input: Record<string, unknown>, request: RecordedRequest) => OperationAnswer;

export interface FakeAwsJsonOptions {
  /** The SigV4 service name: `events`, `sqs`. */
  service: string;
  /** The `x-amz-target` prefix: `AWSEvents`, `AmazonSQS`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  contentType: string;
  operations: Record<string, Operation>;
  /** The service's throttling error. */
  throttling: AwsJsonError;
  credentials?: FakeAwsCredentials;
  region?: string;
}

/** The AWS JSON error as a fake server `Failure`, for `failNext`. */
export function awsJsonFailure(
  error: AwsJsonError,
  contentType = "application/x-amz-json-1.1",
): Failure & Reply {
  return {
    status: error.status,
    headers: { "content-type": contentType, "x-amzn-errortype": error.type, ...error.headers },
    body: JSON.stringify({ __type: error.type, message: error.message }),
  };
}

/**
 * Start a fake AWS service speaking an AWS JSON protocol on 127.0.0.1: `POST /` with `x-amz-target:
 * <prefix>.<Operation>` and a JSON body, answered by `operations`. Every request must be SigV4-signed with
 * the fake's credentials for its region and service (checked in full), or it is refused as AWS refuses it.
 */
export async function startFakeAwsJson(options: FakeAwsJsonOptions): Promise<FakeAwsService> {
  const credentials = options.credentials ?? {
    accessKeyId: "AKIDFAKESWITCHYARD01",
    secretAccessKey: "fake-secret-key-for-switchyard-tests",
  };
  const region = options.region ?? "us-east-1";
  const unsigned: FakeAwsService["unsigned"] = [];
  const error = (e: AwsJsonError): Reply => awsJsonFailure(e, options.contentType);

  const reply = (request: RecordedRequest): Reply => {
    const target = String(request.headers["x-amz-target"] ?? "");
    const problem = sigV4Problem(request, { credentials, region, service: options.service });
    if (problem) {
      unsigned.push({ target, reason: problem });
      const type =
        problem === "unknown access key" ? "UnrecognizedClientException" : "InvalidSignatureException";
      return error({ status: 403, type, message: problem });
    }
    const [prefix, name] = target.split(".");
    const operation = prefix === options.targetPrefix && name ? options.operations[name] : undefined;
    if (request.method !== "POST" || !operation) {
      return error({
        status: 400,
        type: "UnknownOperationException",
        message: `unknown operation ${target}`,
      });
    }
    if (typeof request.json !== "object" || request.json === null) {
      return error({ status: 400, type: "SerializationException", message: "the body is not JSON" });
    }
    const answer = operation(request.json as Record<string, unknown>, request);
    if ("error" in answer) return error(answer.error);
    return {
      status: 200,
      headers: { "content-type": options.contentType },
      body: JSON.stringify(answer.output),
    };
  };

  const server = await startFakeServer(reply);
  return {
    endpoint: server.url,
    region,
    credentials,
    server,
    unsigned,
    failNext: (failure, times) => server.failNext(failure, times),
    throttleNext: (times = 1) =>
      server.failNext(awsJsonFailure(options.throttling, options.contentType), times),
    close: () => server.close(),
  };
}

/** The entries of a batch call, or the reason they are unusable. */
export function batchEntries(input: Record<string, unknown>): Array<Record<string, unknown>> | undefined {
  const entries = input.Entries;
  if (!Array.isArray(entries)) return undefined;
  return entries.filter(
    (entry): entry is Record<string, unknown> => typeof entry === "object" && entry !== null,
  );
}

/** Pops per-entry failures queued by a test: the next `count` entries fail with `code`. */
export class EntryFailures<Code> {
  private readonly queued: Code[] = [];
  private predicate: ((entry: Record<string, unknown>) => Code | undefined) | undefined;

  failNext(code: Code, count = 1): void {
    for (let i = 0; i < count; i++) this.queued.push(code);
  }

  /** Fail every entry for which `choose` returns a code, until `clear()`. */
  failWhere(choose: (entry: Record<string, unknown>) => Code | undefined): void {
    this.predicate = choose;
  }

  clear(): void {
    this.queued.length = 0;
    this.predicate = undefined;
  }

  next(entry: Record<string, unknown>): Code | undefined {
    return this.queued.shift() ?? this.predicate?.(entry);
  }
}
