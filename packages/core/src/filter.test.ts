import { describe, expect, it } from "vitest";
import type { Auth0Event } from "./events.js";
import { compileFilter, type EventFilter, validateFilter } from "./filter.js";

const event = {
  specversion: "1.0",
  type: "user.created",
  source: "urn:auth0:acme.us.auth0.com",
  id: "evt_1234567890abcdefghijkl",
  time: "2026-11-01T00:00:00.000Z",
  a0tenant: "acme",
  a0stream: "est_1234567890abcdefghijkl",
  data: {
    object: {
      user_id: "auth0|1",
      email: "ada@acme.com",
      email_verified: true,
      logins_count: 3,
      nickname: null,
      identities: [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: "1" }],
      tags: ["beta", "staff"],
      created_at: "2026-11-01T00:00:00.000Z",
      updated_at: "2026-11-01T00:00:00.000Z",
    },
  },
} as unknown as Auth0Event;

const test = (filter: EventFilter) => compileFilter(filter).test(event);

describe("compileFilter", () => {
  it.each<[string, EventFilter, boolean]>([
    ["a bare value is eq", { type: "user.created" }, true],
    ["a bare value that differs", { type: "user.deleted" }, false],
    ["eq on a boolean", { "data.object.email_verified": { eq: true } }, true],
    ["ne", { "data.object.email": { ne: "bob@acme.com" } }, true],
    ["ne on an absent field", { a0purpose: { ne: "test" } }, true],
    ["in", { type: { in: ["user.created", "user.updated"] } }, true],
    ["in, not there", { type: { in: ["user.deleted"] } }, false],
    ["exists true", { "data.object.email": { exists: true } }, true],
    ["exists false on an absent field", { a0purpose: { exists: false } }, true],
    ["exists false on a null field", { "data.object.nickname": { exists: false } }, true],
    ["exists true on a null field", { "data.object.nickname": { exists: true } }, false],
    ["startsWith", { "data.object.user_id": { startsWith: "auth0|" } }, true],
    ["endsWith", { "data.object.email": { endsWith: "@acme.com" } }, true],
    ["endsWith, another domain", { "data.object.email": { endsWith: "@globex.com" } }, false],
    ["endsWith on a number", { "data.object.logins_count": { endsWith: "3" } }, false],
    ["contains a substring", { "data.object.email": { contains: "@acme" } }, true],
    ["contains an array element", { "data.object.tags": { contains: "staff" } }, true],
    ["contains, no such element", { "data.object.tags": { contains: "admin" } }, false],
    ["gt", { "data.object.logins_count": { gt: 2 } }, true],
    ["gte", { "data.object.logins_count": { gte: 3 } }, true],
    ["lt", { "data.object.logins_count": { lt: 3 } }, false],
    ["lte", { "data.object.logins_count": { lte: 3 } }, true],
    ["gt on a string", { "data.object.email": { gt: 1 } }, false],
    ["a range: several operators must all hold", { "data.object.logins_count": { gt: 1, lt: 3 } }, false],
    ["an array index in the path", { "data.object.identities.0.provider": "auth0" }, true],
    ["several keys must all hold", { type: "user.created", "data.object.email_verified": false }, false],
    ["all", { all: [{ type: "user.created" }, { "data.object.email": { endsWith: "@acme.com" } }] }, true],
    ["any", { any: [{ type: "user.deleted" }, { "data.object.email": { endsWith: "@acme.com" } }] }, true],
    ["any, none holds", { any: [{ type: "user.deleted" }, { a0purpose: "test" }] }, false],
    ["not", { not: { a0purpose: "test" } }, true],
    ["not, negated", { not: { type: "user.created" } }, false],
    ["a path through a missing object", { "data.previous_object.email": { exists: true } }, false],
    ["inherited properties are not fields", { "data.object.constructor": { exists: true } }, false],
    ["__proto__ is not a field", { "data.__proto__": { exists: true } }, false],
  ])("%s", (_name, filter, expected) => {
    expect(validateFilter(filter)).toEqual([]);
    expect(test(filter)).toBe(expected);
  });

  it("explains why an event fails, and nothing when it passes", () => {
    const filter = compileFilter({ "data.object.email": { endsWith: "@globex.com" } });
    expect(filter.explain(event)).toBe(
      'data.object.email is "ada@acme.com", expected to end with "@globex.com"',
    );
    expect(compileFilter({ type: "user.created" }).explain(event)).toBeUndefined();
    expect(compileFilter({ a0purpose: "test" }).explain(event)).toBe('a0purpose is absent, expected "test"');
    expect(compileFilter({ any: [{ type: "x.y" }, { not: { type: "user.created" } }] }).explain(event)).toBe(
      'none of: type is "user.created", expected "x.y"; matches a `not` filter',
    );
  });

  it("throws on an invalid filter, naming the problem", () => {
    expect(() => compileFilter({ type: { startWith: "user." } } as EventFilter)).toThrow(
      /invalid filter: type > startWith: unknown operator "startWith"/,
    );
  });
});

describe("validateFilter", () => {
  it.each<[string, unknown, Array<string | number>, RegExp]>([
    [
      "an unknown operator",
      { "data.object.email": { endWith: "@acme.com" } },
      ["data.object.email", "endWith"],
      /unknown operator "endWith"/,
    ],
    ["a malformed path", { "data..x": 1 }, ["data..x"], /not a valid field path/],
    ["a path ending in a dot", { "data.": 1 }, ["data."], /not a valid field path/],
    ["an empty path", { "": 1 }, [""], /cannot be empty/],
    [
      "a string for a number",
      { "data.object.logins_count": { gt: "3" } },
      ["data.object.logins_count", "gt"],
      /takes a number/,
    ],
    ["a number for startsWith", { type: { startsWith: 1 } }, ["type", "startsWith"], /takes a string/],
    ["a non-list for in", { type: { in: "user.created" } }, ["type", "in"], /takes a list/],
    ["a non-boolean exists", { type: { exists: "yes" } }, ["type", "exists"], /true or false/],
    ["an object operand of eq", { type: { eq: { a: 1 } } }, ["type", "eq"], /takes a string, number/],
    ["a bare list", { type: ["a", "b"] }, ["type"], /use \{ in: \[\.\.\.\] \}/],
    ["an empty condition", { type: {} }, ["type"], /at least one condition/],
    ["an empty all", { all: [] }, ["all"], /non-empty list/],
    [
      "a bad filter inside any",
      { any: [{ type: "x" }, { "a..b": 1 }] },
      ["any", 1, "a..b"],
      /not a valid field path/,
    ],
    ["a bad filter inside not", { not: { type: { foo: 1 } } }, ["not", "type", "foo"], /unknown operator/],
    ["not an object", "user.created", [], /must be an object/],
    ["an empty filter", {}, [], /must not be empty/],
    ["a combinator used as an operator", { type: { not: "x" } }, ["type", "not"], /combines filters/],
  ])("reports %s at its path", (_name, filter, path, message) => {
    const issues = validateFilter(filter);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(path);
    expect(issues[0]!.message).toMatch(message);
  });

  it("reports every problem", () => {
    expect(validateFilter({ "a..b": { gt: "x" }, c: { nope: 1 } })).toHaveLength(3);
  });
});
