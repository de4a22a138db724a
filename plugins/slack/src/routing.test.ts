import { describe, expect, it } from "vitest";
import { createPatternTable } from "./routing.js";

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

  it("answers undefined when nothing matches", () => {
    const narrow = createPatternTable({ "user.*": "#users" });
    expect(narrow("user.deleted")).toBe("#users");
    expect(narrow("group.created")).toBeUndefined();
  });

  it("rejects invalid patterns", () => {
    expect(() => createPatternTable({ "user*": "#x" })).toThrow(/not a valid event pattern/);
  });
});
