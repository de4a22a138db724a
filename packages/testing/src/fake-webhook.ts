import type { Auth0Event } from "@switchyard/core";
import { Webhook } from "standardwebhooks";
import { type FakeServer, type RecordedRequest, type Reply, startFakeServer } from "./fake-server.js";

/** What a webhook receiver made of one request. */
export interface WebhookDelivery {
  request: RecordedRequest;
  /** The `webhook-id` header. */
  id: string | undefined;
  /** True or false when the fake has a secret to check the signature with; undefined when it has none. */
  verified: boolean | undefined;
  /** Why verification failed (the verifier's message), when it did. */
  verifyError?: string;
  /** The body parsed as a CloudEvent, when it is JSON. */
  event: Auth0Event | undefined;
}

export interface FakeWebhookOptions {
  /** A `whsec_…` secret: each request's Standard Webhooks signature is checked with the real verifier. */
  secret?: string;
  /** The normal reply (default 200 with an empty body). */
  reply?: (request: RecordedRequest) => Reply | Promise<Reply>;
}

/** A fake webhook receiver: a `FakeServer` that also reads each request as a Standard Webhooks delivery. */
export interface FakeWebhook extends FakeServer {
  /** Every request received, as a delivery, in order (failed ones included). */
  readonly deliveries: WebhookDelivery[];
  /** Resolve once at least `count` deliveries arrived. */
  waitForDeliveries(count: number, timeoutMs?: number): Promise<WebhookDelivery[]>;
  /** Check one request's signature against any secret, e.g. the old one during a rotation. */
  verify(request: RecordedRequest, secret: string): Pick<WebhookDelivery, "verified" | "verifyError">;
}

/** Start a fake webhook receiver on 127.0.0.1 that records deliveries and verifies their signatures. */
export async function startFakeWebhook(options: FakeWebhookOptions = {}): Promise<FakeWebhook> {
  const server = await startFakeServer(options.reply);
  // Verified when first read, then kept: the verifier's ±5 min tolerance is far longer than any test.
  const seen = new WeakMap<RecordedRequest, WebhookDelivery>();
  const toDelivery = (request: RecordedRequest): WebhookDelivery => {
    let delivery = seen.get(request);
    if (!delivery) {
      const check = options.secret === undefined ? { verified: undefined } : verify(request, options.secret);
      delivery = { request, id: header(request, "webhook-id"), event: asEvent(request.json), ...check };
      seen.set(request, delivery);
    }
    return delivery;
  };
  return {
    ...server,
    get deliveries() {
      return server.requests.map(toDelivery);
    },
    async waitForDeliveries(count: number, timeoutMs?: number) {
      return (await server.waitForRequests(count, undefined, timeoutMs)).map(toDelivery);
    },
    verify,
  };
}

function verify(request: RecordedRequest, secret: string): Pick<WebhookDelivery, "verified" | "verifyError"> {
  const headers: Record<string, string> = {};
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const value = header(request, name);
    if (value !== undefined) headers[name] = value;
  }
  try {
    new Webhook(secret).verify(request.body, headers, { jsonParse: false });
    return { verified: true };
  } catch (error) {
    return { verified: false, verifyError: error instanceof Error ? error.message : String(error) };
  }
}

function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function asEvent(json: unknown): Auth0Event | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  return typeof (json as { type?: unknown }).type === "string" ? (json as Auth0Event) : undefined;
}
