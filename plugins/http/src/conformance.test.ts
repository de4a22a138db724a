import { randomBytes } from "node:crypto";
import { startFakeWebhook } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect } from "vitest";
import http, { type HttpOptions } from "./index.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const apiKey = `key_${randomBytes(12).toString("hex")}`;

testAction<HttpOptions>({
  name: "http",
  factory: http,
  async setup() {
    const server = await startFakeWebhook({ secret });
    return {
      options: {
        url: `${server.url}/hooks/auth0?source=switchyard`,
        secret,
        headers: { "X-Api-Key": apiKey },
      },
      server,
      close: () => server.close(),
    };
  },
  invalidOptions: [
    { options: {}, error: /missing option "url"/ },
    { options: { url: "ftp://example.com/" }, error: /option "url": must be an http\(s\) URL/ },
    { options: { url: "not a url" }, error: /option "url": must be an http\(s\) URL/ },
    { options: { url: "https://user:pw@example.com/" }, error: /option "url": must not hold credentials/ },
    { options: { url: "https://example.com/", secret: "not-whsec" }, error: /option "secret"/ },
    { options: { url: "https://example.com/", secret: [] }, error: /option "secret"/ },
    { options: { url: "https://example.com/", secret: ["whsec_!!"] }, error: /option "secret/ },
    {
      options: { url: "https://example.com/", headers: { "webhook-id": "x" } },
      error: /is set by the plugin/,
    },
    {
      options: { url: "https://example.com/", headers: { "bad name": "x" } },
      error: /not a valid header name/,
    },
    { options: { url: "https://example.com/", headers: { a: "x\r\ny: z" } }, error: /line breaks/ },
    { options: { url: "https://example.com/", timeoutMs: 0 }, error: /option "timeoutMs"/ },
    { options: { url: "https://example.com/", method: "GET" }, error: /option "method"/ },
    { options: { url: "https://example.com/", retries: 3 }, error: /retries/ },
  ],
  secrets: (options) => [...[options.secret ?? []].flat(), ...Object.values(options.headers ?? {})],
  retryable: [
    { status: 500 },
    { status: 502 },
    { status: 503, headers: { "retry-after": "7" } },
    { status: 408 },
    { status: 429, headers: { "retry-after": "7" } },
    { drop: true },
  ],
  permanent: [{ status: 400 }, { status: 401 }, { status: 404 }, { status: 410 }, { status: 422 }],
  retryAfterMs: 7_000,
  delivered(server, event) {
    const request = server.requests.at(-1)!;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/hooks/auth0?source=switchyard");
    expect(request.body).toBe(JSON.stringify(event));
    expect(request.headers["webhook-id"]).toBe(event.id);
    expect(request.headers["x-api-key"]).toBe(apiKey);
    expect(request.headers["content-type"]).toBe("application/json");
  },
});
