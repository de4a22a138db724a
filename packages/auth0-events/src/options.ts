import type { Auth0Event, UnknownAuth0Event } from "@switchyard/core";
import { ConfigError, errorPrefix } from "@switchyard/core";
import type { Dispatcher } from "undici";

/** One item of the stream: an event, or an offset-only heartbeat that only moves the cursor. */
export type StreamItem =
  | {
      kind: "event";
      offset: string;
      event: Auth0Event;
      /**
       * The event's JSON text exactly as the frame carried it, to store and send without serialising the
       * event again (`JSON.stringify(event)` when the frame was not shaped as Auth0 sends it).
       */
      json: string;
      invalid?: undefined;
    }
  /**
   * An event of a known type whose `data` deviates from this version's schema (Auth0 changed a field). Its
   * envelope is sound, so it is yielded as it is, typed as unvalidated; `invalid` says what deviates.
   */
  | { kind: "event"; offset: string; event: UnknownAuth0Event; json: string; invalid: string }
  | { kind: "offset"; offset: string };

/** Callbacks for metrics and logs; a hook that throws is ignored, it never breaks the stream. */
export interface StreamHooks {
  /** A connection was accepted (HTTP 200); `attempt` counts every connection attempt, from 1. */
  onConnect?(info: { attempt: number }): void;
  /** The client is about to wait `delayMs`, then make connection attempt number `attempt`. */
  onReconnect?(info: { attempt: number; delayMs: number; reason: string }): void;
  /** Bytes received on the stream (one call per socket read). */
  onBytes?(bytes: number): void;
  /** Every item, as it is parsed. */
  onMessage?(item: StreamItem): void;
  /**
   * An event yielded although its `data` deviates from the schema of its known type (the item carries
   * `invalid` too); count it, log it: the code reading such events may need an upgrade.
   */
  onInvalid?(info: { offset: string; event: UnknownAuth0Event; reason: string }): void;
  /** A frame that was skipped: bad JSON, or an envelope that is not a CloudEvent. */
  onMalformed?(info: { offset: string | undefined; error: Error; raw: string }): void;
  /** Every retryable failure (network, idle connection, error frame, 5xx, 429) before a reconnect. */
  onError?(error: Error): void;
}

/** Options of `stream()` and `streamBatches()`. */
export interface StreamOptions {
  /** `tenant.us.auth0.com` (https), or a base URL such as `http://127.0.0.1:4010`. */
  domain: string;
  /** A static Management API token, or client credentials (renewed before expiry and after any 401). */
  auth: { token: string } | { clientId: string; clientSecret: string; audience?: string };
  /** Resume after this offset. */
  cursor?: string | undefined;
  /** Start at this time (inclusive); only used when there is no cursor. */
  fromTimestamp?: string | Date | undefined;
  /** Exact event types to ask for; undefined or empty = all. */
  eventTypes?: readonly string[] | undefined;
  /** Abort to end the iteration (it returns cleanly, without throwing). */
  signal?: AbortSignal;
  /** Reconnect when no byte (not even a heartbeat) arrived for this long. Default 90000. */
  idleTimeoutMs?: number;
  /** Reconnect delays: exponential with full jitter, floored by the server's `retry:`. Defaults 500 / 30000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** What to do when the cursor expired or is invalid: throw (default), or resume from a timestamp. */
  onCursorExpired?: "fail" | { fromTimestamp: string | Date };
  hooks?: StreamHooks;
  /** undici dispatcher for every request (default: undici's global one). */
  dispatcher?: Dispatcher;
}

export type Auth =
  | { kind: "token"; token: string }
  | { kind: "client"; clientId: string; clientSecret: string; audience: string };

/** Options after checks and defaults. */
export interface ResolvedOptions {
  baseUrl: string;
  auth: Auth;
  cursor: string | undefined;
  fromTimestamp: string | undefined;
  eventTypes: string[];
  signal: AbortSignal | undefined;
  idleTimeoutMs: number;
  initialMs: number;
  maxMs: number;
  onCursorExpired: "fail" | { fromTimestamp: string };
  hooks: StreamHooks;
  dispatcher: Dispatcher | undefined;
}

const PREFIX = errorPrefix("auth0-events");

/** Check the options and apply defaults; throws a ConfigError that names each bad field. */
export function resolveOptions(options: StreamOptions): ResolvedOptions {
  const issues: Array<{ path: string; message: string }> = [];
  const fail = (path: string, message: string) => issues.push({ path, message });
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(`${PREFIX} missing options`, [{ path: "", message: "expected an object" }]);
  }

  const baseUrl = resolveDomain(options.domain);
  if (baseUrl === undefined) {
    fail("domain", 'expected "tenant.region.auth0.com" or a base URL like "http://127.0.0.1:4010"');
  }

  let auth: Auth | undefined;
  const given = options.auth as Record<string, unknown> | undefined;
  if (given && typeof given.token === "string" && given.token !== "") {
    auth = { kind: "token", token: given.token };
  } else if (
    given &&
    typeof given.clientId === "string" &&
    typeof given.clientSecret === "string" &&
    given.clientId &&
    given.clientSecret
  ) {
    const audience =
      typeof given.audience === "string" && given.audience ? given.audience : `${baseUrl}/api/v2/`;
    auth = { kind: "client", clientId: given.clientId, clientSecret: given.clientSecret, audience };
  } else {
    fail("auth", "expected { token } or { clientId, clientSecret }");
  }

  const fromTimestamp = resolveTime(options.fromTimestamp, "fromTimestamp", fail);
  let onCursorExpired: ResolvedOptions["onCursorExpired"] = "fail";
  const policy = options.onCursorExpired;
  if (policy !== undefined && policy !== "fail") {
    const at =
      typeof policy === "object" && policy !== null
        ? resolveTime(policy.fromTimestamp, "onCursorExpired.fromTimestamp", fail)
        : undefined;
    if (at === undefined) fail("onCursorExpired", 'expected "fail" or { fromTimestamp }');
    else onCursorExpired = { fromTimestamp: at };
  }

  const types = options.eventTypes ?? [];
  if (
    !Array.isArray(types) ||
    types.some((type) => typeof type !== "string" || type === "" || type.includes("*"))
  ) {
    fail("eventTypes", "expected exact event types (patterns like user.* must be expanded first)");
  }
  const idleTimeoutMs = positive(options.idleTimeoutMs, 90_000, "idleTimeoutMs", fail);
  const initialMs = positive(options.backoff?.initialMs, 500, "backoff.initialMs", fail);
  const maxMs = positive(options.backoff?.maxMs, 30_000, "backoff.maxMs", fail);
  if (options.cursor !== undefined && (typeof options.cursor !== "string" || options.cursor === "")) {
    fail("cursor", "expected a non-empty offset string");
  }

  if (issues.length > 0 || baseUrl === undefined || auth === undefined) {
    const list = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
    throw new ConfigError(`${PREFIX} invalid options: ${list}`, issues);
  }
  return {
    baseUrl,
    auth,
    cursor: options.cursor,
    fromTimestamp,
    eventTypes: [...new Set(types)],
    signal: options.signal,
    idleTimeoutMs,
    initialMs,
    maxMs: Math.max(maxMs, initialMs),
    onCursorExpired,
    hooks: options.hooks ?? {},
    dispatcher: options.dispatcher,
  };
}

/** `tenant.us.auth0.com` → `https://tenant.us.auth0.com`; a base URL keeps its scheme, loses a trailing slash. */
export function resolveDomain(domain: unknown): string | undefined {
  if (typeof domain !== "string" || domain.trim() === "") return undefined;
  const text = domain.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    if (url.search || url.hash || url.username) return undefined;
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return undefined;
  }
}

function resolveTime(
  value: unknown,
  path: string,
  fail: (path: string, message: string) => void,
): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    fail(path, "expected a Date or an RFC 3339 timestamp");
    return undefined;
  }
  return date.toISOString();
}

function positive(
  value: unknown,
  fallback: number,
  path: string,
  fail: (path: string, message: string) => void,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    fail(path, "expected a positive number of milliseconds");
    return fallback;
  }
  return value;
}
