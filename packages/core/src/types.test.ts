import { describe, expectTypeOf, it } from "vitest";
import type { Auth0Event, EventOf, KnownAuth0Event } from "./events.js";
import { isEventType, isKnownEvent } from "./events.js";
import type { DeletedUserObject, OrganizationMemberObject, UserObject } from "./objects.js";

// These assertions are checked by `tsc` (pnpm typecheck); at run time they are no-ops.
describe("event types", () => {
  it("narrows data.object by type", () => {
    const narrow = (e: KnownAuth0Event) => {
      if (e.type === "user.created") {
        expectTypeOf(e.data.object).toEqualTypeOf<UserObject>();
        expectTypeOf(e.data.object.email).toEqualTypeOf<string | undefined>();
      }
      switch (e.type) {
        case "user.deleted":
          expectTypeOf(e.data.object).toEqualTypeOf<DeletedUserObject>();
          expectTypeOf(e.data.object.deleted_at).toBeString();
          break;
        case "organization.member.added":
          expectTypeOf(e.data.object).toEqualTypeOf<OrganizationMemberObject>();
          // @ts-expect-error a membership has no email
          e.data.object.email;
          break;
      }
    };
    expectTypeOf(narrow).toBeFunction();
  });

  it("narrows any event with the guards, unknown types included", () => {
    const handle = (e: Auth0Event) => {
      expectTypeOf(e.type).toBeString();
      if (isKnownEvent(e) && e.type === "organization.created") expectTypeOf(e.data.object.name).toBeString();
      if (isEventType(e, "user.updated")) {
        expectTypeOf(e).toEqualTypeOf<EventOf<"user.updated">>();
        expectTypeOf(e.data.previous_object).toEqualTypeOf<UserObject | undefined>();
      }
      if (!isKnownEvent(e)) expectTypeOf(e.data.object).toEqualTypeOf<Record<string, unknown>>();
    };
    expectTypeOf(handle).toBeFunction();
  });

  it("rejects a type that does not exist", () => {
    // @ts-expect-error not an event type
    const bad: EventOf<"user.exploded"> | undefined = undefined;
    expectTypeOf(bad).toBeUndefined();
  });
});
