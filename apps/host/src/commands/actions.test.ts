import { describe, expect, it } from "vitest";
import { describeRateLimit } from "../operations.js";
import { formatActions } from "./actions.js";

describe("actions list", () => {
  it("shows a rate-limited action as such, and an action's circuit breaker", () => {
    const base = {
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      enabled: true,
      paused: false,
      pending: 0,
      dead: 0,
    };
    const text = formatActions([
      { ...base, name: "slack", rateLimit: describeRateLimit({ perSecond: 1, burst: 3 }) },
      {
        ...base,
        name: "crm",
        rateLimit: describeRateLimit({ perMinute: 30, burst: 1 }),
        circuitBreaker: "20 failures, 30000 ms cool-down",
      },
      { ...base, name: "plain" },
    ]);
    expect(text).toMatch(/^ACTION +PLUGIN +EVENTS +STATE +PENDING +DEAD$/m);
    expect(text).toMatch(/^slack .* rate-limited \(1\/s, burst 3\) +0 +0$/m);
    expect(text).toMatch(
      /^crm .* rate-limited \(30\/min\), circuit breaker \(20 failures, 30000 ms cool-down\) +0 +0$/m,
    );
    expect(text).toMatch(/^plain .* running +0 +0$/m);
  });
});
