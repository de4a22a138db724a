import {
  type Failure,
  type FakeServer,
  type RecordedRequest,
  type Reply,
  startFakeServer,
} from "./fake-server.js";

/** A message the fake Slack accepted through `chat.postMessage`. */
export interface FakeSlackMessage {
  channel: string;
  text: string | undefined;
  /** Parsed Block Kit blocks (form-encoded bodies carry them as a JSON string). */
  blocks: unknown[] | undefined;
  /** The `ts` the fake answered with. */
  ts: string;
  /** Every argument of the call, as received (minus the token). */
  params: Record<string, unknown>;
}

export interface FakeSlackOptions {
  /** The bot token the fake accepts (default `xoxb-fake-token`). */
  token?: string;
  /** When given, posting to any other channel answers `channel_not_found`, as Slack does. */
  channels?: readonly string[];
}

export interface FakeSlack {
  /** Use as `apiUrl` / `slackApiUrl`: `http://127.0.0.1:<port>/api/`. */
  url: string;
  /** The token the fake accepts. */
  token: string;
  /** The recording HTTP server underneath, with its failure knobs (5xx, 429, slow answers, drops). */
  server: FakeServer;
  /** Messages accepted so far, in order. */
  messages(): FakeSlackMessage[];
  /** Make the next `times` requests fail this way (same as `server.failNext`). */
  failNext(failure: Failure, times?: number): void;
  /** Answer the next `times` requests with a Slack platform error: HTTP 200 `{ ok: false, error }`. */
  failNextWithError(error: string, times?: number): void;
  /** Answer the next `times` requests with HTTP 429, `Retry-After: <seconds>` and `{ ok: false, error: "ratelimited" }`. */
  rateLimitNext(retryAfterSeconds?: number, times?: number): void;
  close(): Promise<void>;
}

/** A Slack platform error as Slack sends it: HTTP 200 with `{ ok: false, error }`. */
export function slackError(error: string): Failure {
  return {
    status: 200,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ ok: false, error }),
  };
}

/** Slack's answer when rate limited: HTTP 429 with `Retry-After` in seconds. */
export function slackRateLimited(retryAfterSeconds = 1): Failure {
  return {
    status: 429,
    headers: { "content-type": "application/json; charset=utf-8", "retry-after": String(retryAfterSeconds) },
    body: JSON.stringify({ ok: false, error: "ratelimited" }),
  };
}

/**
 * Start a fake Slack Web API on 127.0.0.1: `chat.postMessage` and `auth.test` answer like Slack, the bearer
 * token (or a `token` body field) is checked, and accepted messages are recorded.
 */
export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? "xoxb-fake-token";
  const channels = options.channels ? new Set(options.channels) : undefined;
  const messages: FakeSlackMessage[] = [];
  let sequence = 0;

  const ok = (body: object): Reply => ({ status: 200, body: { ok: true, ...body } });
  const fail = (error: string): Reply => ({ status: 200, body: { ok: false, error } });

  const reply = (request: RecordedRequest): Reply => {
    const url = new URL(request.path, "http://fake");
    if (!url.pathname.startsWith("/api/")) return { status: 404, body: "not found" };
    const method = url.pathname.slice("/api/".length);
    const { token: bodyToken, ...params } = readParams(request.json);
    const given = bearer(request.headers.authorization) ?? asString(bodyToken);
    if (given === undefined) return fail("not_authed");
    if (given !== token) return fail("invalid_auth");

    switch (method) {
      case "auth.test":
        return ok({ url: "https://fake.slack.com/", team: "Fake", user: "switchyard", team_id: "T0FAKE" });
      case "chat.postMessage": {
        const channel = asString(params.channel);
        if (!channel || (channels && !channels.has(channel))) return fail("channel_not_found");
        const text = asString(params.text);
        const blocks = readBlocks(params.blocks);
        if (blocks === null) return fail("invalid_blocks");
        if (!text && !blocks?.length) return fail("no_text");
        sequence += 1;
        const ts = `${Math.floor(Date.now() / 1000)}.${String(sequence).padStart(6, "0")}`;
        messages.push({ channel, text, blocks, ts, params });
        return ok({
          channel,
          ts,
          message: { type: "message", text: text ?? "", blocks, ts, bot_id: "B0FAKE" },
        });
      }
      default:
        return fail("unknown_method");
    }
  };

  const server = await startFakeServer(reply);
  return {
    url: `${server.url}/api/`,
    token,
    server,
    messages: () => [...messages],
    failNext: (failure, times) => server.failNext(failure, times),
    failNextWithError: (error, times) => server.failNext(slackError(error), times),
    rateLimitNext: (retryAfterSeconds, times) => server.failNext(slackRateLimited(retryAfterSeconds), times),
    close: () => server.close(),
  };
}

function readParams(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1];
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

// Blocks arrive as an array (JSON body) or a JSON string (form body); null means "sent but unreadable".
function readBlocks(value: unknown): unknown[] | undefined | null {
  if (value === undefined || value === "") return undefined;
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return Array.isArray(parsed) ? parsed : null;
}
