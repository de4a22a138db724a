import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePlugin, isAction, validateOptions } from "./action.js";
import { ConfigError, errorPrefix } from "./errors.js";

const slackish = definePlugin({
  name: "slack",
  options: z.object({
    token: z.string().min(1),
    channel: z.string().default("#general"),
    timeoutMs: z.number().optional(),
  }),
  create: (options) => ({
    onExecuteEventStream: () => options.channel,
  }),
});

describe("definePlugin", () => {
  it("creates an action from valid options, with defaults applied", () => {
    const action = slackish({ token: "xoxb-1" });
    expect(isAction(action)).toBe(true);
    expect(slackish.pluginName).toBe("slack");
  });

  it("prefixes its errors with the library and the plugin name, as errorPrefix spells it", () => {
    expect(errorPrefix("slack")).toBe("[switchyard] [slack]");
    expect(() => slackish({} as never)).toThrow(`${errorPrefix("slack")} missing option`);
  });

  it("names a missing option", () => {
    expect(() => slackish({} as never)).toThrow('[switchyard] [slack] missing option "token"');
  });

  it("names a wrong option and keeps every issue", () => {
    try {
      validateOptions("slack", slackish.optionsSchema, { token: "", timeoutMs: "soon" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues.map((i) => i.path)).toEqual(["token", "timeoutMs"]);
      expect((error as Error).message).toMatch(
        /^\[switchyard\] \[slack\] option "token": .*; option "timeoutMs": /,
      );
    }
  });

  it("does not echo option values in errors", () => {
    expect(() => slackish({ token: 12345678 } as never)).toThrow(/^(?!.*12345678)/);
  });
});

describe("isAction", () => {
  it("tells actions from other values", () => {
    expect(isAction({ onExecuteEventStream() {} })).toBe(true);
    expect(isAction({ onExecuteEventStream: 1 })).toBe(false);
    expect(isAction(null)).toBe(false);
  });
});
