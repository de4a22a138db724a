import type { StreamItem } from "@switchyard/auth0-events";
import type { Auth0Event } from "@switchyard/core";
import { events, type FakeTenant, startFakeTenant } from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { finishConfig } from "../config/load.js";
import { type SwitchyardConfigInput, tenantSources } from "../config/schema.js";
import { ActionMatcher } from "../engine/matching.js";
import { auth0Source, subscribedTypes } from "./auth0-stream.js";

let tenant: FakeTenant | undefined;
afterEach(() => tenant?.close());

const configFor = (url: string, token: string, actions: SwitchyardConfigInput["actions"]) =>
  finishConfig(
    { source: { auth0: { domain: url, token, fromTimestamp: "1970-01-01T00:00:00Z" } }, actions },
    "<test>",
    {},
  ).config;

/** A `user.…` type Auth0 adds after this version was built. */
function futureUserEvent(): Auth0Event {
  const base = events.userUpdated();
  return { ...base, type: "user.future_thing", data: { object: { user_id: base.data.object.user_id } } };
}

describe("subscribedTypes", () => {
  it("asks for exact types only when every enabled action's pattern is an exact known type", () => {
    const exact = configFor("http://127.0.0.1:1", "t0k3n-value", [
      { name: "a", plugin: "console", events: ["user.deleted", "organization.created"] },
      { name: "off", plugin: "console", events: ["*"], enabled: false },
    ]);
    expect(subscribedTypes(exact.actions)).toEqual(["organization.created", "user.deleted"]);
    const prefix = configFor("http://127.0.0.1:1", "t0k3n-value", [
      { name: "a", plugin: "console", events: ["user.deleted"] },
      { name: "b", plugin: "console", events: ["organization.*"] },
    ]);
    expect(subscribedTypes(prefix.actions)).toBeUndefined();
  });
});

describe("a type that did not exist when the host was built", () => {
  it("reaches a user.* action through the stream, and not an organization.* one", async () => {
    tenant = await startFakeTenant();
    const config = configFor(tenant.url, tenant.token, [
      { name: "users", plugin: "console", events: ["user.*"] },
      { name: "orgs", plugin: "console", events: ["organization.*"] },
    ]);
    const future = futureUserEvent();
    const org = events.organizationCreated();
    tenant.append([future, org]);

    const controller = new AbortController();
    const items: StreamItem[] = [];
    for await (const batch of auth0Source(tenantSources(config)[0]!, config)!.batches(
      undefined,
      controller.signal,
      {},
    )) {
      items.push(...batch);
      if (items.filter((i) => i.kind === "event").length >= 2) controller.abort();
    }
    expect(tenant.connections[0]!.query.has("event_type")).toBe(false);
    const received = items.flatMap((i) => (i.kind === "event" ? [i.event] : []));
    expect(received.map((e) => e.type)).toEqual(["user.future_thing", "organization.created"]);

    const [users, orgs] = config.actions.map((a) => new ActionMatcher(a));
    const routed = (event: Auth0Event) => [users!, orgs!].filter((m) => m.accepts(event)).map((m) => m.name);
    expect(routed(received[0]!)).toEqual(["users"]);
    expect(routed(received[1]!)).toEqual(["orgs"]);
  });
});
