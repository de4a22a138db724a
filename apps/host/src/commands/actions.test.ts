import { describe, expect, it } from "vitest";
import { describeRateLimit, summarizeCircuit } from "../operations.js";
import { formatActions, formatCircuit } from "./actions.js";

describe("actions list", () => {
  it("shows a rate-limited action as such, and an action's circuit breaker", () => {
    const base = {
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      tenants: ["default"],
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
        circuit: summarizeCircuit([]),
      },
      { ...base, name: "plain" },
    ]);
    expect(text).toMatch(/^ACTION +PLUGIN +EVENTS +STATE +PENDING +DEAD$/m);
    expect(text).toMatch(/^slack .* rate-limited \(1\/s, burst 3\) +0 +0$/m);
    expect(text).toMatch(
      /^crm .* rate-limited \(30\/min\), circuit closed \[breaker: 20 failures, 30000 ms cool-down\] +0 +0$/m,
    );
    expect(text).toMatch(/^plain .* running +0 +0$/m);
  });

  it("shows each replica's breaker that is not closed, and the worst of them; an ended cool-down is half-open", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    const record = { action: "crm", since: now - 1_000 };
    const circuit = summarizeCircuit(
      [
        { ...record, replica: "r1", state: "open", until: now + 30_000 },
        { ...record, replica: "r2", state: "open", until: now - 500 },
        { ...record, replica: "r3", state: "half-open" },
      ],
      now,
    );
    expect(circuit).toEqual({
      state: "open",
      replicas: [
        {
          replica: "r1",
          state: "open",
          since: "2026-12-04T11:59:59.000Z",
          until: "2026-12-04T12:00:30.000Z",
        },
        { replica: "r2", state: "half-open", since: "2026-12-04T11:59:59.500Z" },
        { replica: "r3", state: "half-open", since: "2026-12-04T11:59:59.000Z" },
      ],
    });
    expect(formatCircuit(circuit, now)).toBe(
      "circuit open until 12:00:30Z (replica r1), half-open (replica r2), half-open (replica r3)",
    );
    expect(summarizeCircuit([{ ...record, replica: "r3", state: "half-open" }], now).state).toBe("half-open");
    expect(formatCircuit(summarizeCircuit([], now), now)).toBe("circuit closed");
  });
});
