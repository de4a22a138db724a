import { STATUS_CODES } from "node:http";
import type { HTTPClient, HTTPClientRequest, HTTPResponse } from "@segment/analytics-node";
import { parseRetryAfter } from "@switchyard/core";
import { type Dispatcher, request } from "undici";

/** What Segment answered to a batch that it did not accept. */
export interface HttpFailure {
  status: number;
  retryAfterMs?: number | undefined;
}

/**
 * The SDK's HTTP client, on an undici dispatcher we own (so `close()` can release its sockets, and no global
 * fetch on the delivery path). Two jobs besides sending:
 * - the SDK reports a failed batch to each message's callback as a bare `Error("[503] …")`, without the
 *   response: we hand each rejected batch's status and Retry-After to `onFailure`, keyed by messageId;
 * - the SDK would itself sleep on a 429's Retry-After and resend, up to 20 times, even with `maxRetries: 0`:
 *   we hide that header from it, so the failure comes back at once and the host decides when to retry.
 */
export class SegmentHttpClient implements HTTPClient {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly onFailure: (messageIds: readonly string[], failure: HttpFailure) => void,
  ) {}

  async makeRequest(options: HTTPClientRequest): Promise<HTTPResponse> {
    const response = await request(options.url, {
      method: options.method,
      headers: options.headers,
      body: options.body,
      dispatcher: this.dispatcher,
      headersTimeout: options.httpRequestTimeout,
      bodyTimeout: options.httpRequestTimeout,
    });
    await response.body.dump();
    const status = response.statusCode;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (name !== "retry-after" && value !== undefined) headers[name] = String(value);
    }
    if (status >= 400) {
      const retryAfter = response.headers["retry-after"];
      this.onFailure(messageIdsOf(options.body), {
        status,
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      });
    }
    return { status, statusText: STATUS_CODES[status] ?? "", headers };
  }
}

// Only parsed for rejected batches, so the happy path pays nothing.
function messageIdsOf(body: string): string[] {
  try {
    const { batch } = JSON.parse(body) as { batch?: Array<{ messageId?: unknown }> };
    return (batch ?? []).flatMap((message) =>
      typeof message.messageId === "string" ? [message.messageId] : [],
    );
  } catch {
    return [];
  }
}
