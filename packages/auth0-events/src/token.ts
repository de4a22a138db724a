import { parseRetryAfter } from "@switchyard/core";
import { type Dispatcher, request } from "undici";
import { StreamError } from "./errors.js";
import type { Auth } from "./options.js";

const DEFAULT_TTL_SECONDS = 86_400;

/**
 * Management API tokens for the stream: a static token as given, or client-credentials tokens cached and
 * renewed shortly before they expire (a fifth of their lifetime, at most a minute, early) and after a 401.
 */
export class TokenSource {
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly auth: Auth,
    private readonly dispatcher: Dispatcher | undefined,
  ) {}

  get isStatic(): boolean {
    return this.auth.kind === "token";
  }

  /** A token to connect with. Throws a StreamError (retryable or not) when none can be had. */
  async get(signal: AbortSignal | undefined): Promise<string> {
    if (this.auth.kind === "token") return this.auth.token;
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.pending ??= this.fetch(this.auth, signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forget the cached token (after a 401), so that the next `get` asks for a new one. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(
    auth: Extract<Auth, { kind: "client" }>,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const started = Date.now();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({
          grant_type: "client_credentials",
          client_id: auth.clientId,
          client_secret: auth.clientSecret,
          audience: auth.audience,
        }),
        signal,
        dispatcher: this.dispatcher,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (error) {
      throw new StreamError("TOKEN", `could not reach ${this.baseUrl}/oauth/token (${describe(error)})`, {
        retryable: true,
        cause: error,
      });
    }
    const text = await response.body.text().catch(() => "");
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      throw new StreamError(
        "UNAUTHORIZED",
        `the client-credentials grant was refused (HTTP ${status}${reason(text)}): check clientId and clientSecret, ` +
          "and that the application is authorised for the Management API with the read:events scope",
        { status },
      );
    }
    if (status === 400) {
      throw new StreamError(
        "BAD_REQUEST",
        `the token request was rejected (HTTP 400${reason(text)}): check the audience (default "{domain}/api/v2/")`,
        { status },
      );
    }
    if (status !== 200) {
      throw new StreamError("TOKEN", `the token endpoint answered HTTP ${status}${reason(text)}`, {
        retryable: true,
        status,
        retryAfterMs: parseRetryAfter(header(response.headers["retry-after"])),
      });
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = {};
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw new StreamError("TOKEN", "the token endpoint answered without an access_token", {
        retryable: true,
      });
    }
    const ttlMs =
      (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : DEFAULT_TTL_SECONDS) *
      1000;
    this.cached = { token: body.access_token, renewAt: started + ttlMs - Math.min(60_000, ttlMs / 5) };
    return body.access_token;
  }
}

/** The server's short explanation (`error` / `message` fields), never the request. */
export function reason(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const parts = [body.error, body.error_description, body.message].filter(
      (part) => typeof part === "string",
    );
    return parts.length ? `: ${parts.join(", ").slice(0, 300)}` : "";
  } catch {
    return "";
  }
}

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
