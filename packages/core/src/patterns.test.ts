import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "./event-types.js";
import { createMatcher, expandEventTypes, matchesPattern, patternError } from "./patterns.js";

describe("patterns", () => {
  it.each([
    ["*", "user.created", true],
    ["*", "brand.new.type", true],
    ["user.*", "user.created", true],
    ["user.*", "users.created", false],
    ["user.*", "user", false],
    ["organization.*", "organization.member.role.assigned", true],
    ["organization.member.*", "organization.member.added", true],
    ["organization.member.*", "organization.created", false],
    ["user.created", "user.created", true],
    ["user.created", "user.created.v2", false],
    ["group.*", "group.future.thing", true],
  ])("%s matches %s: %s", (pattern, type, expected) => {
    expect(matchesPattern(pattern, type)).toBe(expected);
  });

  it("matches any of several patterns", () => {
    const match = createMatcher(["user.deleted", "organization.member.*"]);
    expect(EVENT_TYPES.filter(match)).toEqual([
      "organization.member.added",
      "organization.member.deleted",
      "organization.member.role.assigned",
      "organization.member.role.deleted",
      "user.deleted",
    ]);
  });

  it.each([
    "",
    " ",
    "user.**",
    "*.created",
    "user*",
    "user.*.added",
    "User.Created",
    "user..created",
    ".user",
  ])("rejects %j with a reason", (pattern) => {
    expect(patternError(pattern)).toEqual(expect.any(String));
    expect(() => createMatcher([pattern])).toThrow(TypeError);
  });

  it("expands patterns into the exact types to ask the stream for", () => {
    expect(expandEventTypes(["user.*", "organization.member.added"])).toEqual({
      all: false,
      types: ["organization.member.added", "user.created", "user.updated", "user.deleted"],
    });
  });

  it.each([[["*"]], [["user.created", "*"]], [["session.*"]], [["user.blocked"]], [[...EVENT_TYPES]]])(
    "asks for everything for %j",
    (patterns) => {
      expect(expandEventTypes(patterns)).toEqual({ all: true });
    },
  );
});
