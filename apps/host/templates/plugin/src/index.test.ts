import { randomBytes } from "node:crypto";
import { events, runAction, startFakeServer } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect, it } from "vitest";
import plugin, { type Options } from "./index.js";

const token = `tok_${randomBytes(12).toString("hex")}`;

// The shared conformance suite: options, every event type, retryable/permanent failures, Retry-After,
// the time budget, secrets kept out of errors and logs, close().
testAction<Options>({
  name: "{{name}}",
  factory: plugin,
  async setup() {
    const server = await startFakeServer();
    return { options: { url: `${server.url}/events`, token }, server, close: () => server.close() };
  },
  invalidOptions: [
    { options: {}, error: /missing option "url"/ },
    { options: { url: "ftp://example.com/" }, error: /option "url": must be an http\(s\) URL/ },
    { options: { url: "https://example.com/", timeoutMs: 0 }, error: /option "timeoutMs"/ },
    { options: { url: "https://example.com/", retries: 3 }, error: /retries/ },
  ],
  secrets: (options) => [options.token ?? ""],
  retryable: [
    { status: 500 },
    { status: 503, headers: { "retry-after": "7" } },
    { status: 429 },
    { drop: true },
  ],
  permanent: [{ status: 400 }, { status: 401 }, { status: 404 }],
  delivered(server, event) {
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/events");
    expect(request.json).toEqual(event);
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
  },
});

// Your own checks: one run of the action on one event, as the host would run it.
it("sends the user's email and dedupes on the event id", async () => {
  const server = await startFakeServer();
  const action = plugin({ url: `${server.url}/events`, token });
  try {
    const event = events.userCreated({ email: "ada@example.com" });
    const result = await runAction(action, event);
    expect(result.status).toBe("delivered");
    const [request] = await server.waitForRequests(1);
    expect(request?.json).toMatchObject({ data: { object: { email: "ada@example.com" } } });
    expect(request?.headers["idempotency-key"]).toBe(event.id);
  } finally {
    await action.close?.();
    await server.close();
  }
});
