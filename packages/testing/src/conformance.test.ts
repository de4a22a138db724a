import { Agent, request } from "node:http";
import {
  definePlugin,
  PermanentError,
  parseRetryAfter,
  RetryableError,
  type StandardSchemaV1,
} from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { startFakeServer } from "./fake-server.js";
import { findSecrets } from "./find-secrets.js";
import { testAction } from "./vitest.js";

interface ReferenceOptions {
  url: string;
  token: string;
}

// A hand-written Standard Schema: testing depends on core only, not on zod.
const schema: StandardSchemaV1<ReferenceOptions> = {
  "~standard": {
    version: 1,
    vendor: "reference",
    validate(input) {
      const value = input as Partial<ReferenceOptions>;
      const issues: StandardSchemaV1.Issue[] = [];
      if (typeof value.url !== "string" || !/^https?:\/\//.test(value.url)) {
        issues.push({ message: "must be an http(s) URL", path: ["url"] });
      }
      if (typeof value.token !== "string") issues.push({ message: "received undefined", path: ["token"] });
      return issues.length > 0 ? { issues } : { value: value as ReferenceOptions };
    },
  },
};

/** The smallest plugin that follows the contract, to keep the suite itself honest. */
const reference = definePlugin({
  name: "reference",
  options: schema,
  create(options) {
    const agent = new Agent({ keepAlive: true });
    return {
      onExecuteEventStream: (event, api) =>
        new Promise<void>((resolve, reject) => {
          const body = JSON.stringify(event.message);
          const req = request(options.url, {
            method: "POST",
            agent,
            signal: api.signal,
            headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
          });
          req.on("error", (error) =>
            reject(new RetryableError(`[switchyard] [reference] request failed: ${error.name}`)),
          );
          req.on("response", (res) => {
            res.resume();
            const status = res.statusCode ?? 0;
            if (status < 300) return resolve();
            const message = `[switchyard] [reference] answered ${status}`;
            if (status === 408 || status === 429 || status >= 500) {
              const retryAfter = res.headers["retry-after"];
              return reject(new RetryableError(message, { retryAfterMs: parseRetryAfter(retryAfter) }));
            }
            reject(new PermanentError(message));
          });
          req.end(body);
        }),
      close: () => agent.destroy(),
    };
  },
});

const token = "tok_reference_secret_123";

testAction<ReferenceOptions>({
  name: "reference",
  factory: reference,
  async setup() {
    const server = await startFakeServer();
    return { options: { url: `${server.url}/in`, token }, server, close: () => server.close() };
  },
  invalidOptions: [
    { options: {}, error: /missing option "token"/ },
    { options: { url: "ftp://x", token }, error: /option "url": must be an http\(s\) URL/ },
  ],
  secrets: (options) => [options.token],
  eventTypes: ["user.created", "organization.member.added"],
  retryable: [{ status: 503 }, { status: 429, headers: { "Retry-After": "3" } }],
  permanent: [{ status: 400 }],
  delivered(server, event) {
    expect(server.requests.at(-1)?.json).toEqual(event);
  },
  slowMs: 1_000,
});

describe("findSecrets", () => {
  const secret = "sk_live_abc123";
  it("finds a secret in messages, stacks, causes, fields and keys, and reports only paths", () => {
    const cause = new Error(`bad token ${secret}`);
    const error = Object.assign(new Error("outer", { cause }), { config: { headers: { auth: secret } } });
    const logs = [
      { level: "info", message: "ok", fields: { [secret]: 1, nested: [{ deep: `x${secret}` }] } },
    ];
    const found = findSecrets({ message: "fine", error, logs }, [secret]);
    expect(found).toEqual(
      expect.arrayContaining([
        "outcome.error.cause.message",
        "outcome.error.cause.stack",
        "outcome.error.config.headers.auth",
        "outcome.logs.0.fields (a key)",
        "outcome.logs.0.fields.nested.0.deep",
      ]),
    );
    expect(found.join(" ")).not.toContain(secret);
  });

  it("finds nothing in clean values and survives cycles", () => {
    const cyclic: Record<string, unknown> = { message: "clean" };
    cyclic.self = cyclic;
    expect(findSecrets({ error: new Error("clean"), cyclic }, [secret])).toEqual([]);
  });
});
