import { randomBytes } from "node:crypto";
import type { Auth0Event } from "@switchyard/core";
import { slackError, startFakeSlack } from "@switchyard/testing";
import { testAction } from "@switchyard/testing/vitest";
import { expect } from "vitest";
import slack, { type SlackOptions } from "./index.js";

const token = `xoxb-${randomBytes(16).toString("hex")}`;
const valid = { token: "xoxb-1", channel: "#alerts" };

// The id the text fallback must name: user_id for users and memberships, the member, group or connection for
// links between objects, the object's own id otherwise.
function expectedId(event: Auth0Event): string | undefined {
  const object = event.data.object as Record<string, unknown> & {
    user?: { user_id?: string };
    connection?: { id?: string };
    member?: { id?: string };
    group?: { id?: string };
  };
  if (event.type.startsWith("user.")) return object.user_id as string;
  if (event.type.startsWith("organization.member.")) return object.user?.user_id;
  if (event.type.startsWith("organization.connection.")) return object.connection?.id;
  if (event.type.startsWith("group.member.")) return object.member?.id;
  if (/^(organization\.)?group\.role\./.test(event.type)) return object.group?.id;
  return typeof object.id === "string" ? object.id : undefined;
}

testAction<SlackOptions>({
  name: "slack",
  factory: slack,
  async setup() {
    const fake = await startFakeSlack({ token });
    return {
      options: { token, channel: { "*": "#alerts", "user.*": "#users" }, apiUrl: fake.url },
      server: fake.server,
      close: () => fake.close(),
    };
  },
  invalidOptions: [
    { options: {}, error: /missing option "token"/ },
    { options: { token: "xoxb-1" }, error: /missing option "channel"/ },
    { options: { ...valid, channel: "" }, error: /option "channel"/ },
    { options: { ...valid, channel: { "user*": "#a" } }, error: /not a valid event pattern/ },
    { options: { ...valid, channel: {} }, error: /at least one event pattern/ },
    { options: { ...valid, apiUrl: "ftp://example.com/" }, error: /option "apiUrl"/ },
    { options: { ...valid, templates: { "*": 3 } }, error: /string template or a function/ },
    { options: { ...valid, templates: { "user.": "x" } }, error: /option "templates.user."/ },
    { options: { ...valid, timeoutMs: 0 }, error: /option "timeoutMs"/ },
    { options: { ...valid, chanel: "#typo" }, error: /chanel/ },
  ],
  secrets: (options) => [options.token],
  retryable: [
    { status: 500 },
    { status: 502 },
    { status: 503, headers: { "retry-after": "7" } },
    {
      status: 429,
      headers: { "retry-after": "7", "content-type": "application/json" },
      body: '{"ok":false,"error":"ratelimited"}',
    },
    slackError("internal_error"),
    slackError("fatal_error"),
    slackError("service_unavailable"),
    slackError("request_timeout"),
    { drop: true },
  ],
  permanent: [
    slackError("channel_not_found"),
    slackError("not_in_channel"),
    slackError("invalid_auth"),
    slackError("account_inactive"),
    slackError("token_revoked"),
    slackError("missing_scope"),
    slackError("invalid_blocks"),
    slackError("msg_too_long"),
    { status: 404 },
    { status: 400 },
  ],
  retryAfterMs: 7_000,
  delivered(server, event) {
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/api/chat.postMessage");
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
    const params = request.json as { channel: string; text: string; blocks: string };
    expect(params.channel).toBe(event.type.startsWith("user.") ? "#users" : "#alerts");
    expect(params.text.startsWith(`${event.type}: `)).toBe(true);
    const id = expectedId(event);
    expect(id).toBeTruthy();
    expect(params.text).toContain(id);
    const blocks = JSON.parse(params.blocks) as Array<{ type: string }>;
    expect(blocks.map((block) => block.type)).toEqual(["header", "section", "context"]);
  },
});
