import {
  type AliasParams,
  Analytics,
  type GroupParams,
  type IdentifyParams,
  type PageParams,
  type TrackParams,
} from "@segment/analytics-node";
import { type Action, describeError, errorPrefix, PermanentError, RetryableError } from "@switchyard/core";
import { Agent } from "undici";
import { listenForAcknowledgements } from "./acknowledgements.js";
import type { PreparedCall } from "./calls.js";
import { classifySegmentFailure } from "./failures.js";
import { type HttpFailure, SegmentHttpClient } from "./http-client.js";
import { createMapper } from "./mapping.js";
import type { ResolvedSegmentOptions } from "./options.js";

const PREFIX = errorPrefix("segment");
/** Segment's 32 KB per message, less room for the fields the SDK adds (library, runtime). */
const MAX_MESSAGE_BYTES = 32 * 1024 - 512;

/**
 * The Segment action: one SDK instance (one batching queue) for every delivery of this action. A delivery
 * resolves once Segment accepted the batch(es) holding all of its calls, and fails with a typed error otherwise.
 */
export function createSegmentAction(options: ResolvedSegmentOptions): Action {
  const failures = new Map<string, HttpFailure>();
  const agent = new Agent({ connect: { timeout: options.requestTimeoutMs }, keepAliveTimeout: 10_000 });
  const analytics = new Analytics({
    writeKey: options.writeKey,
    host: options.host,
    path: options.path,
    flushAt: options.flushAt,
    flushInterval: options.flushIntervalMs,
    httpRequestTimeout: options.requestTimeoutMs,
    // Retries are the host's job (durable, visible, with Retry-After): the SDK's would be hidden in memory.
    maxRetries: 0,
    httpClient: new SegmentHttpClient(agent, (messageIds, failure) => {
      for (const id of messageIds) failures.set(id, failure);
    }),
  });
  const mapper = createMapper(options.mapping);
  let closing: Promise<void> | undefined;

  const acknowledgements = listenForAcknowledgements(analytics);

  function send(call: PreparedCall): Promise<void> {
    return new Promise((resolve, reject) => {
      const settled = (error?: unknown) => {
        const response = failures.get(call.messageId);
        failures.delete(call.messageId);
        if (error === undefined) resolve();
        else reject(classifySegmentFailure(error, call, response));
      };
      const size = Buffer.byteLength(JSON.stringify(call));
      if (size > MAX_MESSAGE_BYTES) {
        // Segment answers 400 to the whole batch for one oversized message, failing its neighbours too; the SDK
        // means to catch this, but its size estimate counts escapes, not bytes.
        reject(
          new PermanentError(
            `${PREFIX} the ${call.type} call (messageId ${call.messageId}) is ${size} bytes, over Segment's 32 KB limit per message`,
          ),
        );
        return;
      }
      acknowledgements.wait(call.messageId, settled);
      try {
        dispatch(analytics, call);
      } catch (error) {
        acknowledgements.forget(call.messageId, settled);
        // The SDK validates synchronously (e.g. no userId nor anonymousId): resending cannot fix that.
        reject(
          new PermanentError(`${PREFIX} Segment refused the ${call.type} call: ${describeError(error)}`),
        );
      }
    });
  }

  return {
    async onExecuteEventStream({ message }, api) {
      const mapped = mapper(message);
      const calls = mapped instanceof Promise ? await mapped : mapped;
      if (calls.length === 0) {
        api.log.debug("skipped by the mapping", { type: message.type });
        return;
      }
      // A closed SDK drops calls without ever calling back: refuse them here so nothing hangs.
      if (closing) throw new RetryableError(`${PREFIX} the action is closing`);
      if (api.signal.aborted) throw aborted(api.signal);
      const results = await untilAborted(Promise.allSettled(calls.map(send)), api.signal);
      const errors = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
      if (errors.length === 0) return;
      throw errors.find((error) => error instanceof PermanentError) ?? errors[0];
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    try {
      // On timeout the SDK aborts its pending batches, whose deliveries then fail retryable.
      await analytics.closeAndFlush({ timeout: options.closeTimeoutMs });
    } finally {
      // Not `agent.close()`: it would wait for a request still hanging after the timeout, and it forgets its
      // sockets, so a later destroy() cannot reach them. Once drained, destroying only drops idle sockets.
      await agent.destroy().catch(() => {});
      failures.clear();
    }
  }
}

function dispatch(analytics: Analytics, call: PreparedCall): void {
  const { type, ...params } = call;
  switch (type) {
    case "track":
      analytics.track(params as TrackParams);
      return;
    case "identify":
      analytics.identify(params as IdentifyParams);
      return;
    case "group":
      analytics.group(params as GroupParams);
      return;
    case "page":
      analytics.page(params as PageParams);
      return;
    case "screen":
      analytics.screen(params as PageParams);
      return;
    case "alias":
      analytics.alias(params as AliasParams);
  }
}

// The SDK keeps the messages and may still send them later: harmless, Segment drops repeated messageIds.
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function aborted(signal: AbortSignal): RetryableError {
  return new RetryableError(`${PREFIX} delivery aborted before Segment accepted the batch`, {
    cause: signal.reason,
  });
}
