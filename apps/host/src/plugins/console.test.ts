import type { Auth0Event } from "@switchyard/core";
import { events, runAction } from "@switchyard/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import consolePlugin from "./console.js";

afterEach(() => vi.restoreAllMocks());

/** What the plugin writes to stdout for `event`. */
async function printed(event: Auth0Event, format: "line" | "json" = "line"): Promise<string> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const outcome = await runAction(consolePlugin({ format }), event);
  vi.restoreAllMocks();
  expect(outcome.status).toBe("delivered");
  return out;
}

describe("the console plugin", () => {
  it("prints one line per event, whatever its type, id or subject hold", async () => {
    const event = {
      ...events.userCreated({ email: 'a@b.example\n{"level":"fatal","msg":"forged"}' }),
      type: "user.created\r\n2026-01-01T00:00:00Z  forged.line",
      id: "evt_1\u2028x",
    } as unknown as Auth0Event;
    for (const format of ["line", "json"] as const) {
      const out = await printed(event, format);
      expect(out.endsWith("\n")).toBe(true);
      expect(out.slice(0, -1)).not.toMatch(/[\r\n]/);
    }
    expect(await printed(event)).toContain("user.created\\u000d\\u000a2026");
  });
});
