import { describe, expect, it } from "vitest";
import { compileRedaction, redactPathError } from "./redact-paths.js";

const event = () => ({
  specversion: "1.0",
  id: "evt_1",
  type: "user.created",
  data: {
    object: {
      user_id: "auth0|1",
      email: "ada@example.com",
      phone_number: "+15551234567",
      user_metadata: { plan: "pro" },
      identities: [
        { provider: "auth0", access_token: "at-1", user_id: "1" },
        { provider: "google", access_token: "at-2", user_id: "2" },
        { provider: "github", user_id: "3" },
      ],
    },
  },
});

describe("compileRedaction", () => {
  it("removes dotted paths from a copy, leaving the original and untouched branches as they were", () => {
    const original = event();
    const frozen = structuredClone(original);
    const out = compileRedaction(["data.object.email", "data.object.user_metadata"])(original);
    expect(out.data.object).not.toHaveProperty("email");
    expect(out.data.object).not.toHaveProperty("user_metadata");
    expect(out.data.object.phone_number).toBe("+15551234567");
    expect(original).toEqual(frozen);
    // Copy on write: what no path goes through is shared, not copied.
    expect(out.data.object.identities).toBe(original.data.object.identities);
  });

  it("returns the event itself when no path matches", () => {
    const original = event();
    expect(compileRedaction(["data.object.nickname", "data.object.email.x"])(original)).toBe(original);
  });

  it("takes `*` for any key or index, and digits (or [n]) for array indexes", () => {
    const tokens = compileRedaction(["data.object.identities.*.access_token"])(event());
    expect(tokens.data.object.identities).toEqual([
      { provider: "auth0", user_id: "1" },
      { provider: "google", user_id: "2" },
      { provider: "github", user_id: "3" },
    ]);
    const any = compileRedaction(["data.object.user_metadata.*"])(event());
    expect(any.data.object.user_metadata).toEqual({});
    const first = compileRedaction(["data.object.identities[0]", "data.object.identities.1"])(event());
    expect(first.data.object.identities).toEqual([{ provider: "github", user_id: "3" }]);
    const bracket = compileRedaction(["data.object.identities[*].user_id"])(event());
    expect(bracket.data.object.identities.map((i) => Object.keys(i))).toEqual([
      ["provider", "access_token"],
      ["provider", "access_token"],
      ["provider"],
    ]);
  });

  it("reads own properties only", () => {
    const original = JSON.parse('{"id":"1","data":{"__proto__":{"x":1},"y":2}}') as Record<string, unknown>;
    const out = compileRedaction(["data.__proto__", "data.constructor"])(original);
    expect(Object.keys(out.data as object)).toEqual(["y"]);
    expect(Object.keys(original.data as object)).toEqual(["__proto__", "y"]);
  });
});

describe("redactPathError", () => {
  it("accepts the filter's paths, indexes and wildcards", () => {
    for (const path of [
      "data.object.email",
      "data.object.identities.0",
      "data.object.identities[*].x",
      "a0tenant",
    ])
      expect(redactPathError(path)).toBeUndefined();
  });

  it("names what is wrong", () => {
    expect(redactPathError("data..email")).toMatch(/not a valid redaction path/);
    expect(redactPathError("")).toMatch(/not a valid redaction path/);
    expect(redactPathError("*.email")).toMatch(/whole event/);
    expect(redactPathError("id")).toMatch(/every event needs/);
    expect(() => compileRedaction(["data"])).toThrow(/invalid redaction path/);
  });
});
