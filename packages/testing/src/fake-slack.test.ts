import { afterEach, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "./fake-slack.js";

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

async function post(
  fake: FakeSlack,
  method: string,
  body: Record<string, unknown>,
  options: { form?: boolean; token?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? fake.token : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string;
  if (options.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    const form = Object.entries(body).map(([k, v]): [string, string] => [
      k,
      typeof v === "string" ? v : JSON.stringify(v),
    ]);
    payload = new URLSearchParams(form).toString();
  } else {
    headers["content-type"] = "application/json; charset=utf-8";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`${fake.url}${method}`, { method: "POST", headers, body: payload });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe("startFakeSlack", () => {
  it("answers chat.postMessage like Slack and records JSON and form bodies", async () => {
    slack = await startFakeSlack();
    expect(slack.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "hi" } }];
    const first = await post(slack, "chat.postMessage", { channel: "#a", text: "one", blocks });
    expect(first.json).toMatchObject({ ok: true, channel: "#a", message: { text: "one", blocks } });
    expect(first.json.ts).toMatch(/^\d+\.\d{6}$/);
    await post(slack, "chat.postMessage", { channel: "C1", text: "two", blocks }, { form: true });
    expect(slack.messages()).toMatchObject([
      { channel: "#a", text: "one", blocks },
      { channel: "C1", text: "two", blocks },
    ]);
    expect(slack.server.requests).toHaveLength(2);
  });

  it("checks the token: not_authed without one, invalid_auth when wrong, body token accepted", async () => {
    slack = await startFakeSlack({ token: "xoxb-right" });
    expect((await post(slack, "auth.test", {}, { token: null })).json).toEqual({
      ok: false,
      error: "not_authed",
    });
    expect((await post(slack, "auth.test", {}, { token: "xoxb-wrong" })).json).toEqual({
      ok: false,
      error: "invalid_auth",
    });
    const viaBody = await post(slack, "auth.test", { token: "xoxb-right" }, { token: null, form: true });
    expect(viaBody.json.ok).toBe(true);
  });

  it("answers Slack's request errors: channel_not_found, no_text, invalid_blocks, unknown_method", async () => {
    slack = await startFakeSlack({ channels: ["#known"] });
    const error = async (method: string, body: Record<string, unknown>) =>
      (await post(slack as FakeSlack, method, body)).json.error;
    expect(await error("chat.postMessage", { channel: "#other", text: "x" })).toBe("channel_not_found");
    expect(await error("chat.postMessage", { channel: "#known" })).toBe("no_text");
    expect(await error("chat.postMessage", { channel: "#known", text: "x", blocks: "{" })).toBe(
      "invalid_blocks",
    );
    expect(await error("chat.nope", {})).toBe("unknown_method");
    expect(slack.messages()).toEqual([]);
  });

  it("has failure knobs: platform errors, 429 with Retry-After, 5xx", async () => {
    slack = await startFakeSlack();
    slack.failNextWithError("channel_not_found");
    slack.rateLimitNext(7);
    slack.failNext({ status: 503 });
    const platform = await post(slack, "chat.postMessage", { channel: "#a", text: "x" });
    expect(platform).toMatchObject({ status: 200, json: { ok: false, error: "channel_not_found" } });
    const limited = await post(slack, "chat.postMessage", { channel: "#a", text: "x" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(limited.json).toEqual({ ok: false, error: "ratelimited" });
    const response = await fetch(`${slack.url}chat.postMessage`, { method: "POST", body: "" });
    expect(response.status).toBe(503);
    await response.arrayBuffer();
    expect(slack.messages()).toEqual([]);
    expect((await post(slack, "chat.postMessage", { channel: "#a", text: "ok" })).json.ok).toBe(true);
    expect(slack.messages()).toHaveLength(1);
  });
});
