import { randomBytes } from "node:crypto";
import { getEventListeners, setMaxListeners } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Action,
  type Auth0Event,
  createActionCache,
  type EncodedEvent,
  type EventStreamApi,
  encodedEvent,
} from "@switchyard/core";
import {
  createCapturingLogger,
  events,
  runAction,
  startFakeServer,
  startFakeWebhook,
  waitFor,
} from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import http from "./index.js";

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;
const opened: Action[] = [];
const cleanups: Array<() => Promise<void>> = [];
function action(options: Parameters<typeof http>[0]): Action {
  const created = http(options);
  opened.push(created);
  return created;
}
async function webhook(secret?: string) {
  const server = await startFakeWebhook(secret === undefined ? {} : { secret });
  cleanups.push(() => server.close());
  return server;
}
/** A receiver that never answers, and counts closed sockets that had carried a request. */
async function hangingServer() {
  let closed = 0;
  const receiver = createServer((req) => {
    req.resume();
    req.socket.once("close", () => closed++);
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
    requestSocketsClosed: () => closed,
  };
}
/** Call the action as the host does: with the event's encoding, and a signal shared with other attempts. */
function deliver(send: Action, message: Auth0Event, signal: AbortSignal, encoded?: EncodedEvent) {
  const api: EventStreamApi = {
    cache: createActionCache(),
    log: createCapturingLogger(),
    signal,
    attempt: 1,
    action: { name: "http" },
    message: { fail: () => {} },
  };
  return send.onExecuteEventStream({ message, secrets: {}, ...(encoded ? { encoded } : {}) }, api);
}
afterEach(async () => {
  for (const created of opened.splice(0)) await created.close?.();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("http plugin", () => {
  it("signs with Standard Webhooks, verified by the real verifier", async () => {
    const secret = newSecret();
    const server = await webhook(secret);
    const event = events.userCreated({ email: "ada@example.com" });
    const result = await runAction(action({ url: server.url, secret }), event);
    expect(result.status).toBe("delivered");
    const [delivery] = await server.waitForDeliveries(1);
    expect(delivery).toMatchObject({
      verified: true,
      id: event.id,
      event: { id: event.id, type: "user.created" },
    });
    const timestamp = Number(delivery?.request.headers["webhook-timestamp"]);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(server.verify(delivery!.request, newSecret()).verified).toBe(false);
  });

  it("signs with every secret during a rotation, so old and new receivers both verify", async () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const server = await webhook(oldSecret);
    const result = await runAction(
      action({ url: server.url, secret: [oldSecret, newer] }),
      events.userUpdated(),
    );
    expect(result.status).toBe("delivered");
    const [delivery] = await server.waitForDeliveries(1);
    expect(delivery?.verified).toBe(true);
    expect(server.verify(delivery!.request, newer).verified).toBe(true);
    expect(String(delivery?.request.headers["webhook-signature"]).split(" ")).toHaveLength(2);
  });

  it("sends webhook-id and webhook-timestamp but no signature without a secret", async () => {
    const server = await webhook();
    const event = events.organizationCreated();
    expect((await runAction(action({ url: server.url }), event)).status).toBe("delivered");
    const [delivery] = await server.waitForDeliveries(1);
    expect(delivery?.verified).toBeUndefined();
    expect(delivery?.request.headers["webhook-id"]).toBe(event.id);
    expect(delivery?.request.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(delivery?.request.headers["webhook-signature"]).toBeUndefined();
  });

  it("sends the attempt's W3C trace context as traceparent and tracestate, and none without one", async () => {
    const server = await webhook();
    const send = action({ url: `${server.url}/in` });
    const trace = {
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      tracestate: "switchyard=1",
    };
    const [traced, plain] = [events.userCreated(), events.userDeleted()];
    expect((await runAction(send, traced, { trace })).status).toBe("delivered");
    expect((await runAction(send, plain)).status).toBe("delivered");
    const received = await server.waitForDeliveries(2);
    const headers = (id: string) => received.find((d) => d.event?.id === id)?.request.headers;
    expect(headers(traced.id)).toMatchObject(trace);
    expect(headers(plain.id)).not.toHaveProperty("traceparent");
  });

  it("uses the configured method and headers", async () => {
    const server = await webhook();
    const headers = { Authorization: "Bearer tok_abc", "X-Tenant": "acme" };
    const send = action({ url: `${server.url}/in?k=v`, method: "PUT", headers });
    expect((await runAction(send, events.userDeleted())).status).toBe("delivered");
    const [delivery] = await server.waitForDeliveries(1);
    expect(delivery?.request).toMatchObject({
      method: "PUT",
      path: "/in?k=v",
      headers: { authorization: "Bearer tok_abc", "x-tenant": "acme", "content-type": "application/json" },
    });
  });

  it("reports the receiver's status with a delivery, for the host's history", async () => {
    const server = await startFakeWebhook({ reply: () => ({ status: 202 }) });
    cleanups.push(() => server.close());
    const result = await runAction(action({ url: server.url }), events.userCreated());
    expect(result).toMatchObject({ status: "delivered", httpStatus: 202 });
    expect((await runAction(action({ url: (await webhook()).url }), events.userCreated())).httpStatus).toBe(
      200,
    );
  });

  it("delivers event types it does not know yet", async () => {
    const server = await webhook();
    const event = events.of("widget.created");
    expect((await runAction(action({ url: server.url }), event)).status).toBe("delivered");
    expect((await server.waitForDeliveries(1))[0]?.event?.type).toBe("widget.created");
  });

  it("treats 410 as permanent and 408 as retryable, naming plugin and status but no header value", async () => {
    const server = await webhook();
    const send = action({ url: `${server.url}/hook?token=q1`, headers: { "x-api-key": "k_123456" } });
    server.failNext({ status: 410 });
    const gone = await runAction(send, events.userCreated());
    expect(gone).toMatchObject({ status: "permanent" });
    expect(gone.message).toMatch(/\[switchyard\] \[http\] POST to 127\.0\.0\.1:\d+ answered 410/);
    server.failNext({ status: 408 });
    const timeout = await runAction(send, events.userCreated());
    expect(timeout).toMatchObject({ status: "retryable" });
    expect(timeout.message).toMatch(/answered 408/);
    for (const text of [gone.message, timeout.message]) {
      expect(text).not.toContain("k_123456");
      expect(text).not.toContain("token=q1");
    }
  });

  it("sends the host's encoding of the event as is, and signs those bytes", async () => {
    const secret = newSecret();
    const server = await webhook(secret);
    const event = events.userCreated({ name: "Zoë Ångström-山田" });
    // Auth0's own text may differ from JSON.stringify's (key order, spacing): that text is what is sent.
    const { id, type, ...rest } = event;
    const json = JSON.stringify({ type, id, ...rest }, null, 1);
    await deliver(
      action({ url: server.url, secret }),
      event,
      new AbortController().signal,
      encodedEvent(json),
    );
    const [delivery] = await server.waitForDeliveries(1);
    expect(delivery?.request.body).toBe(json);
    expect(delivery?.verified).toBe(true);
  });

  it.each([409, 425, 503])("retries %i, as core's default rule says", async (status) => {
    const server = await webhook();
    server.failNext({ status, headers: { "retry-after": "3" } });
    const result = await runAction(action({ url: server.url }), events.userCreated());
    expect(result).toMatchObject({ status: "retryable", retryAfterMs: 3_000 });
    expect(result.message).toMatch(new RegExp(`answered ${status}$`));
  });

  it("does not follow redirects, and says so", async () => {
    const server = await webhook();
    server.failNext({ status: 301, headers: { location: "https://elsewhere.example.com/" } });
    const result = await runAction(action({ url: server.url }), events.userCreated());
    expect(result).toMatchObject({ status: "permanent" });
    expect(result.message).toMatch(/answered 301: redirects are not followed$/);
    expect(server.requests).toHaveLength(1);
  });

  it("listens on a shared signal only while its requests run, and aborts them all with it", async () => {
    const server = await webhook();
    const send = action({ url: server.url });
    const shared = new AbortController();
    setMaxListeners(0, shared.signal);
    await Promise.all(events.many(40).map((event) => deliver(send, event, shared.signal)));
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);

    const hanging = await hangingServer();
    const stuck = action({ url: hanging.url });
    const attempts = events.many(3).map((event) => deliver(stuck, event, shared.signal));
    await waitFor(() => getEventListeners(shared.signal, "abort").length === 3, { timeoutMs: 2_000 });
    shared.abort(new Error("budget spent"));
    const results = await Promise.allSettled(attempts);
    for (const result of results) {
      expect(result).toMatchObject({ status: "rejected", reason: { code: "RETRYABLE" } });
      expect((result as PromiseRejectedResult).reason.message).toMatch(/aborted by the host$/);
    }
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);
    await waitFor(() => hanging.requestSocketsClosed() === 3, { timeoutMs: 2_000 });
  });

  it("reads a Retry-After HTTP date", async () => {
    const server = await webhook();
    const at = new Date(Date.now() + 60_000).toUTCString();
    server.failNext({ status: 429, headers: { "retry-after": at } });
    const result = await runAction(action({ url: server.url }), events.userCreated());
    expect(result.status).toBe("retryable");
    expect(result.retryAfterMs).toBeGreaterThan(55_000);
    expect(result.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("retries when the connection is refused", async () => {
    const server = await startFakeServer();
    const url = server.url;
    await server.close();
    const result = await runAction(action({ url }), events.userCreated());
    expect(result.status).toBe("retryable");
    expect(result.message).toMatch(/\[switchyard\] \[http\] POST to 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
  });

  it("gives up after timeoutMs, and closes the socket of the request", async () => {
    const server = await hangingServer();
    const started = performance.now();
    const result = await runAction(action({ url: server.url, timeoutMs: 100 }), events.userCreated());
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ status: "retryable" });
    expect(result.message).toMatch(/no response within 100 ms/);
    await waitFor(() => server.requestSocketsClosed() === 1, { timeoutMs: 2_000 });
  });

  it("aborts the request when the host's budget runs out", async () => {
    const server = await hangingServer();
    const result = await runAction(action({ url: server.url }), events.userCreated(), { timeoutMs: 150 });
    expect(result.status).toBe("retryable");
    // The socket that carried the request closes without close(): aborted, not just abandoned.
    await waitFor(() => server.requestSocketsClosed() === 1, { timeoutMs: 2_000 });
  });

  it("keeps connections alive: many deliveries over few connections", async () => {
    let connections = 0;
    let requests = 0;
    const receiver = createServer((req, res) => {
      requests++;
      req.resume().on("end", () => res.end());
    });
    receiver.on("connection", () => connections++);
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });
    const send = action({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` });

    for (let i = 0; i < 20; i++)
      expect((await runAction(send, events.userCreated())).status).toBe("delivered");
    // undici opens a second socket while the first finishes its response, then reuses both.
    expect(connections).toBeLessThanOrEqual(2);

    const batch = events.many(400);
    for (let i = 0; i < batch.length; i += 40) {
      const results = await Promise.all(batch.slice(i, i + 40).map((event) => runAction(send, event)));
      expect(results.every((r) => r.status === "delivered")).toBe(true);
    }
    expect(requests).toBe(420);
    expect(connections).toBeLessThanOrEqual(16);
  });

  it("opens at most `connections` sockets", async () => {
    let connections = 0;
    const receiver = createServer((req, res) => req.resume().on("end", () => res.end()));
    receiver.on("connection", () => connections++);
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });
    const send = action({
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      connections: 3,
    });
    const results = await Promise.all(events.many(60).map((event) => runAction(send, event)));
    expect(results.every((r) => r.status === "delivered")).toBe(true);
    expect(connections).toBeLessThanOrEqual(3);
  });
});
