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
  /** Where to send each event. */
  url: z
    .url({
      protocol: /^https?$/,
      // A missing url keeps zod's own message, which core turns into `missing option "url"`.
      error: (issue) => (issue.input === undefined ? undefined : "must be an http(s) URL"),
    })
    .refine((url) => !URL.canParse(url) || !/^[a-z]+:\/\/[^/?#]*@/i.test(url), {
      error: "must not hold credentials: put them in headers",
    }),
  /** One `whsec_…` secret, or several while rotating: every one signs each request. */
  secret: z.union([secret, z.array(secret).min(1, { error: "must name at least one secret" })]).optional(),
  /** Extra request headers, e.g. an API key. */
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
    .default({}),
  /** Longest wait for connecting, for the response headers and for each pause in the body; the host budget applies too. */
  timeoutMs: z.number().int().positive().max(120_000).default(15_000),
  /** The HTTP method. */
  method: z.enum(["POST", "PUT", "PATCH"]).default("POST"),
  /**
   * Keep-alive connections to the receiver. With one request per connection at a time, throughput is about
   * connections ÷ round trip: raise it (and the action's `concurrency`) for a distant receiver.
   */
  connections: z.number().int().min(1).max(256).default(16),
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
