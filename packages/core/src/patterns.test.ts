import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "./event-types.js";
import {
  createMatcher,
  createPatternTable,
  expandEventTypes,
  matchesPattern,
  patternError,
} from "./patterns.js";

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

  it("asks the stream for exact known types when every pattern is one", () => {
    expect(expandEventTypes(["user.deleted", "organization.member.added"])).toEqual({
      all: false,
      types: ["organization.member.added", "user.deleted"],
    });
  });

  // A prefix must also receive the types Auth0 adds later under it, which the stream would withhold.
  it.each([
    [["*"]],
    [["user.created", "*"]],
    [["session.*"]],
    [["user.blocked"]],
    [[...EVENT_TYPES]],
    [["user.*"]],
    [["user.deleted", "organization.member.*"]],
  ])("asks for everything for %j", (patterns) => {
    expect(expandEventTypes(patterns)).toEqual({ all: true });
  });
});

describe("createPatternTable", () => {
  const table = createPatternTable({
    "*": "#all",
    "organization.*": "#orgs",
    "organization.member.*": "#members",
    "organization.member.added": "#joins",
  });

  it("picks the most specific pattern: exact, then the longest prefix, then *", () => {
    expect(table("organization.member.added")).toBe("#joins");
    expect(table("organization.member.role.assigned")).toBe("#members");
    expect(table("organization.created")).toBe("#orgs");
    expect(table("user.created")).toBe("#all");
    expect(table("brand.new.type")).toBe("#all");
  });

  it("does not depend on the order the patterns are written in", () => {
    const reversed = createPatternTable({
      "organization.member.added": 1,
      "organization.member.*": 2,
      "organization.*": 3,
      "*": 4,
    });
    expect(
      ["organization.member.added", "organization.member.deleted", "organization.updated", "x.y"].map(
        reversed,
      ),
    ).toEqual([1, 2, 3, 4]);
  });

  it("answers undefined when nothing matches, and keeps falsy values", () => {
    const narrow = createPatternTable<boolean>({ "user.*": false, "user.created": true });
    expect(narrow("user.deleted")).toBe(false);
    expect(narrow("user.created")).toBe(true);
    expect(narrow("group.created")).toBeUndefined();
    expect(narrow("user")).toBeUndefined();
  });

  it("rejects invalid patterns", () => {
    expect(() => createPatternTable({ "user*": "#x" })).toThrow(/not a valid event pattern/);
    expect(() => createPatternTable({ "*.created": "#x" })).toThrow(TypeError);
  });
});
