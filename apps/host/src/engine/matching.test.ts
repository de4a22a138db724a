import { createEventFactory } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { actionSchema } from "../config/schema.js";
import { ActionMatcher } from "./matching.js";

const action = (extra: Record<string, unknown> = {}) =>
  actionSchema.parse({ name: "sync", plugin: "console", events: ["*"], ...extra });

describe("ActionMatcher", () => {
  const prod = createEventFactory({ seed: 1, tenant: "prod" });
  const dev = createEventFactory({ seed: 1, tenant: "dev" });
  // One Google account signs up on both tenants: the same user id.
  const object = { user_id: "google-oauth2|1234" };
  const inProd = prod.event("user.updated", { object });
  const inDev = dev.event("user.updated", { object });

  it("takes only its tenants' events, and any event when asked without a tenant", () => {
    const matcher = new ActionMatcher(action({ tenants: ["prod"] }), true);
    expect(matcher.accepts(inProd, "prod")).toBe(true);
    expect(matcher.accepts(inDev, "dev")).toBe(false);
    expect(matcher.accepts(inDev)).toBe(true);
  });

  it("keys subjects per tenant when it serves several, so one id in two tenants is two subjects", () => {
    const several = new ActionMatcher(action({ latestWins: true }), true);
    expect(several.keyOf(inProd)).toBe("prod/google-oauth2|1234");
    expect(several.keyOf(inDev)).toBe("dev/google-oauth2|1234");
    // Latest wins marks the same subjects its order keys use.
    expect(several.subjectOf(inProd)).toBe(several.keyOf(inProd));
  });

  it("keeps the plain subject for one tenant (a single `source`, or an action for one of several)", () => {
    for (const matcher of [
      new ActionMatcher(action(), false),
      new ActionMatcher(action({ tenants: ["dev"] }), true),
    ]) {
      expect(matcher.keyOf(inDev)).toBe("google-oauth2|1234");
      expect(matcher.subjectOf(inDev)).toBe("google-oauth2|1234");
    }
  });
});
