import type { StreamErrorBody } from "@switchyard/core";
import { backoffDelay, parseRetryAfter } from "@switchyard/core";
import { type Dispatcher, request } from "undici";
import { StreamError } from "./errors.js";
import { call, FrameReader } from "./frames.js";
import type { ResolvedOptions, StreamItem } from "./options.js";
import { describe, header, reason, TokenSource } from "./token.js";

/** How one connection ended. */
type Ending =
  | { kind: "aborted" }
  | { kind: "status"; status: number; headers: Dispatcher.ResponseData["headers"]; text: string }
  | { kind: "error-frame"; body: StreamErrorBody }
  | { kind: "retry"; error: StreamError };

const CURSOR_CODES = new Set(["cursor_expired", "invalid_cursor"]);
const MAX_UNAUTHORIZED = 3;

class IdleTimeout extends Error {}

/** Mutable state of one `stream()` run, shared by its connections. */
interface RunState {
  cursor: string | undefined;
  fromTimestamp: string | undefined;
  attempt: number;
  retryFloorMs: number;
  progressed: boolean;
}

/**
 * The reconnect loop: connect, yield the items of each socket read, and on any end decide between
 * reconnecting (with backoff) and throwing a terminal StreamError. Returns when the signal aborts.
 */
export async function* run(o: ResolvedOptions): AsyncGenerator<StreamItem[], void, undefined> {
  const { hooks, signal } = o;
  const tokens = new TokenSource(o.baseUrl, o.auth, o.dispatcher);
  const state: RunState = {
    cursor: o.cursor,
    fromTimestamp: o.cursor ? undefined : o.fromTimestamp,
    attempt: 0,
    retryFloorMs: 0,
    progressed: false,
  };
  let failures = 0;
  let unauthorized = 0;

  while (!signal?.aborted) {
    state.attempt++;
    state.progressed = false;
    const ending = yield* connect(o, tokens, state);
    if (ending.kind === "aborted" || signal?.aborted) return;
    if (state.progressed) {
      failures = 0;
      unauthorized = 0;
    }
    failures++;

    let error: StreamError;
    let reasonText: string;
    let delayMs: number | undefined;
    if (ending.kind === "retry") {
      error = ending.error;
      if (error.code === "UNAUTHORIZED" || !error.retryable) throw error;
      reasonText = error.code.toLowerCase();
    } else if (ending.kind === "error-frame") {
      const { code, message } = ending.body;
      if (CURSOR_CODES.has(code)) {
        error = cursorError(
          o,
          state,
          code === "invalid_cursor" ? "INVALID_CURSOR" : "CURSOR_EXPIRED",
          message,
        );
      } else {
        error = new StreamError(
          "ERROR_FRAME",
          `the stream sent an error frame "${code}"${message ? ` (${message})` : ""}; reconnecting`,
          {
            retryable: true,
          },
        );
      }
      reasonText = code;
    } else {
      const { status, text } = ending;
      reasonText = `http_${status}`;
      if (status === 401) {
        if (tokens.isStatic) {
          throw new StreamError(
            "UNAUTHORIZED",
            `the stream refused the static token (HTTP 401${reason(text)}): it expired or was revoked. ` +
              "Pass a fresh token, or use { clientId, clientSecret } so that the client renews tokens itself",
            { status },
          );
        }
        tokens.invalidate();
        if (++unauthorized > MAX_UNAUTHORIZED) {
          throw new StreamError(
            "UNAUTHORIZED",
            `the stream refused ${MAX_UNAUTHORIZED} freshly issued tokens in a row (HTTP 401${reason(text)}): ` +
              "check that the token audience is this tenant's Management API",
            { status },
          );
        }
        // The first 401 after working tokens is routine (expiry, rotation): renew and retry at once.
        if (unauthorized === 1) delayMs = 0;
        error = new StreamError("HTTP_401", "the stream refused the token; renewing it", {
          retryable: true,
          status,
        });
      } else if (status === 403) {
        throw new StreamError(
          "FORBIDDEN",
          `the stream answered HTTP 403${reason(text)}: grant the read:events scope to this token or application`,
          { status },
        );
      } else if (status === 400) {
        throw new StreamError(
          "BAD_REQUEST",
          `the stream answered HTTP 400${reason(text)}: check eventTypes (exact known types only) and the cursor`,
          { status },
        );
      } else if (status === 404) {
        throw new StreamError(
          "NOT_FOUND",
          `the stream answered HTTP 404 at ${o.baseUrl}/api/v2/events: check the domain, and that event streams are enabled on this tenant`,
          { status },
        );
      } else if (status === 410) {
        error = cursorError(o, state, "CURSOR_EXPIRED", reason(text).slice(2));
      } else if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(header(ending.headers["retry-after"]));
        error = new StreamError(
          `HTTP_${status}`,
          `the stream answered HTTP ${status}${reason(text)}; retrying`,
          {
            retryable: true,
            status,
            retryAfterMs,
          },
        );
      } else {
        throw new StreamError(`HTTP_${status}`, `the stream answered HTTP ${status}${reason(text)}`, {
          status,
        });
      }
    }

    call(() => hooks.onError?.(error));
    if (delayMs === undefined) {
      const backoff = backoffDelay(failures, {
        initialMs: o.initialMs,
        maxMs: o.maxMs,
        floorMs: state.retryFloorMs,
      });
      delayMs = Math.max(backoff, error.retryAfterMs ?? 0);
    }
    const info = { attempt: state.attempt + 1, delayMs, reason: reasonText };
    call(() => hooks.onReconnect?.(info));
    if (delayMs > 0 && !(await sleep(delayMs, signal))) return;
  }
}

/**
 * The expired-cursor policy: throw (default), or drop the cursor and resume from the configured timestamp.
 * Never jumps ahead silently: resuming is reported to `onError`, and expiry without a cursor is terminal.
 */
function cursorError(
  o: ResolvedOptions,
  state: RunState,
  code: string,
  detail: string | undefined,
): StreamError {
  const why = detail ? ` (${detail})` : "";
  const policy = o.onCursorExpired;
  if (policy === "fail" || state.cursor === undefined) {
    const what = state.cursor === undefined ? "the stream's starting point" : `cursor ${state.cursor}`;
    throw new StreamError(
      code,
      `${what} is ${code === "INVALID_CURSOR" ? "invalid" : "expired"}${why}; events after it may no longer be available. ` +
        "Decide how to resume: pass onCursorExpired: { fromTimestamp } with a time shortly before the last event " +
        "you processed (then dedupe on event id), or restart without a cursor to take only new events",
    );
  }
  const expired = state.cursor;
  state.cursor = undefined;
  state.fromTimestamp = policy.fromTimestamp;
  return new StreamError(
    code,
    `cursor ${expired} is ${code === "INVALID_CURSOR" ? "invalid" : "expired"}${why}; resuming from_timestamp ` +
      `${policy.fromTimestamp} as configured (expect duplicates: dedupe on event id)`,
    { retryable: true },
  );
}

async function* connect(
  o: ResolvedOptions,
  tokens: TokenSource,
  state: RunState,
): AsyncGenerator<StreamItem[], Ending, undefined> {
  const { hooks, signal } = o;
  let token: string;
  try {
    token = await tokens.get(signal);
  } catch (error) {
    if (signal?.aborted) return { kind: "aborted" };
    return { kind: "retry", error: asStreamError(error, "TOKEN") };
  }

  const url = new URL(`${o.baseUrl}/api/v2/events`);
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    accept: "text/event-stream",
    "cache-control": "no-cache",
  };
  if (state.cursor !== undefined) {
    url.searchParams.set("from", state.cursor);
    headers["last-event-id"] = state.cursor;
  } else if (state.fromTimestamp !== undefined) {
    url.searchParams.set("from_timestamp", state.fromTimestamp);
  }
  for (const type of o.eventTypes) url.searchParams.append("event_type", type);

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let response: Dispatcher.ResponseData | undefined;
  let idle: NodeJS.Timeout | undefined;
  try {
    try {
      response = await request(url, {
        method: "GET",
        headers,
        signal: controller.signal,
        dispatcher: o.dispatcher,
        headersTimeout: o.idleTimeoutMs,
        bodyTimeout: 0,
      });
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted" };
      return { kind: "retry", error: networkError(error) };
    }
    const body = response.body;
    if (response.statusCode !== 200) {
      const text = await readSome(body);
      return { kind: "status", status: response.statusCode, headers: response.headers, text };
    }
    call(() => hooks.onConnect?.({ attempt: state.attempt }));

    const reader = new FrameReader(hooks);
    idle = setTimeout(() => body.destroy(new IdleTimeout()), o.idleTimeoutMs);
    const onBytes = hooks.onBytes;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        idle.refresh();
        if (onBytes) call(() => onBytes(chunk.length));
        reader.push(chunk);
        if (reader.retryMs !== undefined) state.retryFloorMs = reader.retryMs;
        if (reader.items.length > 0) {
          const items = reader.take();
          state.cursor = (items[items.length - 1] as StreamItem).offset;
          state.progressed = true;
          yield items;
        }
        if (reader.errorFrame) return { kind: "error-frame", body: reader.errorFrame };
        if (reader.overflow) {
          return {
            kind: "retry",
            error: new StreamError("MALFORMED", "a frame exceeded 16 MiB without ending; reconnecting", {
              retryable: true,
            }),
          };
        }
      }
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted" };
      if (error instanceof IdleTimeout) {
        return {
          kind: "retry",
          error: new StreamError(
            "IDLE",
            `no bytes for ${o.idleTimeoutMs} ms, not even a heartbeat; reconnecting`,
            {
              retryable: true,
            },
          ),
        };
      }
      return { kind: "retry", error: networkError(error) };
    }
    return {
      kind: "retry",
      error: new StreamError("EOF", "the stream ended; reconnecting", { retryable: true }),
    };
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener("abort", onAbort);
    if (response && !response.body.destroyed) response.body.destroy();
  }
}

async function readSome(body: Dispatcher.ResponseData["body"]): Promise<string> {
  let text = "";
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      text += chunk.toString("utf8");
      if (text.length > 4096) break;
    }
  } catch {
    // The status is what matters; a body cut short only loses the explanation.
  }
  return text;
}

function networkError(error: unknown): StreamError {
  return new StreamError("NETWORK", `stream connection failed (${describe(error)}); reconnecting`, {
    retryable: true,
    cause: error,
  });
}

function asStreamError(error: unknown, code: string): StreamError {
  return error instanceof StreamError
    ? error
    : new StreamError(code, describe(error), { retryable: true, cause: error });
}

/** Wait `ms`; resolves false when the signal aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
