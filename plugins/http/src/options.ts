import { Webhook } from "standardwebhooks";
import { z } from "zod";

/** Headers the plugin sets itself: a user value would break the body or the signature. */
export const RESERVED_HEADERS = [
  "content-length",
  "content-type",
  "host",
  "transfer-encoding",
  "connection",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
] as const;

// RFC 9110 token characters; values may not hold line breaks (header injection).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

const secret = z.string().refine(isSigningSecret, {
  // Never echo the value: it is a secret.
  error: 'must be a Standard Webhooks secret: "whsec_" followed by base64',
});

/** The options of the http plugin; see the README for each one. */
export const httpOptions = z.strictObject({
  url: z
    .url({
      protocol: /^https?$/,
      // A missing url keeps zod's own message, which core turns into `missing option "url"`.
      error: (issue) => (issue.input === undefined ? undefined : "must be an http(s) URL"),
    })
    .refine((url) => !URL.canParse(url) || !/^[a-z]+:\/\/[^/?#]*@/i.test(url), {
      error: "must not hold credentials: put them in headers",
    })
    .describe("where to send each event: `http:` or `https:`, no credentials in it (use `headers`)"),
  secret: z
    .union([secret, z.array(secret).min(1, { error: "must name at least one secret" })])
    .optional()
    .describe(
      "`whsec_…` signing secret, or several during a rotation (the old and the new one): every one signs each request; without it, no `webhook-signature` is sent",
    ),
  headers: z
    .record(z.string(), z.string())
    .superRefine((headers, context) => {
      for (const [name, value] of Object.entries(headers)) {
        if (!HEADER_NAME.test(name)) {
          context.addIssue({ code: "custom", message: "is not a valid header name", path: [name] });
        } else if ((RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase())) {
          context.addIssue({ code: "custom", message: "is set by the plugin", path: [name] });
        } else if (!HEADER_VALUE.test(value)) {
          context.addIssue({ code: "custom", message: "must not contain line breaks", path: [name] });
        }
      }
    })
    .default({})
    .describe(
      "extra request headers, e.g. an API key; names the plugin sets itself (`content-type`, `webhook-*`, …) are refused",
    ),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(15_000)
    .describe(
      "longest wait for each step of a request (connecting, the response headers, each pause in the body); the host's time budget applies too",
    ),
  method: z.enum(["POST", "PUT", "PATCH"]).default("POST").describe("the HTTP method"),
  // With one request per connection at a time, throughput is about connections ÷ round trip.
  connections: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(16)
    .describe(
      "keep-alive connections to the receiver (1-256): throughput is about connections ÷ round trip, so raise it, and the action's `concurrency`, for a distant receiver",
    ),
});

/** Options as written in the config. */
export type HttpOptions = z.input<typeof httpOptions>;
/** Options with defaults applied. */
export type ResolvedHttpOptions = z.output<typeof httpOptions>;

function isSigningSecret(value: string): boolean {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  try {
    new Webhook(value);
    return true;
  } catch {
    return false;
  }
}
