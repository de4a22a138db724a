/**
 * The prefix of every message a part of Switchyard throws: `[switchyard] [name]`, naming the plugin or
 * package, so that a line in a log says where it came from.
 */
export function errorPrefix(name: string): string {
  return `[switchyard] [${name}]`;
}

/** Base of every error Switchyard throws on purpose; `code` is stable, the message is for people. */
export class SwitchyardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** What a delivery failure may say beside its message. */
export interface DeliveryErrorOptions {
  cause?: unknown;
  /** The destination's HTTP status, when it answered: the host records it in the delivery history. */
  status?: number | undefined;
}

/** A delivery failed but may succeed later: the host retries it (after `retryAfterMs` when given). */
export class RetryableError extends SwitchyardError {
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(message: string, options?: DeliveryErrorOptions & { retryAfterMs?: number | undefined }) {
    super("RETRYABLE", message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
}

/** A delivery can never succeed as it is (bad request, revoked credentials): it goes to the dead letters. */
export class PermanentError extends SwitchyardError {
  readonly status: number | undefined;
  constructor(message: string, options?: DeliveryErrorOptions) {
    super("PERMANENT", message, options);
    this.status = options?.status;
  }
}

/** One problem in a configuration or an options object, with the path that holds it. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Invalid configuration or plugin options; `issues` name each field that failed. */
export class ConfigError extends SwitchyardError {
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, issues: readonly ConfigIssue[] = []) {
    super("CONFIG", message);
    this.issues = issues;
  }
}

/** The delivery's time budget ran out before the action finished. */
export class TimeoutError extends RetryableError {
  constructor(budgetMs: number) {
    super(`action did not finish within its ${budgetMs} ms time budget`);
    this.name = "TimeoutError";
  }
}

/** How the host should treat a failure: Auth0's rule, anything that is not permanent is retried. */
export type FailureKind = { kind: "retryable"; retryAfterMs?: number | undefined } | { kind: "permanent" };

/** Classify a thrown value into retryable or permanent. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof PermanentError || hasCode(error, "PERMANENT")) return { kind: "permanent" };
  if (error instanceof RetryableError) return { kind: "retryable", retryAfterMs: error.retryAfterMs };
  if (hasCode(error, "RETRYABLE")) {
    const after = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return { kind: "retryable", retryAfterMs: typeof after === "number" ? after : undefined };
  }
  return { kind: "retryable" };
}

// Plugins may bundle their own copy of core: recognise our errors by code, not only by class identity.
function hasCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

/** A one-line description of any thrown value, for logs and the dead-letter store. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
