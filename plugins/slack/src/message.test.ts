import { type Auth0Event, EVENT_TYPES } from "@switchyard/core";
import { createEventFactory, events } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { defaultMessage, type SlackBlock } from "./message.js";

const byType = (blocks: SlackBlock[] | undefined, type: string) => blocks?.find((b) => b.type === type);
const fieldTexts = (blocks: SlackBlock[] | undefined) =>
  ((byType(blocks, "section")?.fields ?? []) as Array<{ text: string }>).map((f) => f.text);

describe("defaultMessage", () => {
  const factory = createEventFactory({ seed: 7 });

  it.each(EVENT_TYPES)(
    "%s: text names the type and the object's id; blocks have header, fields, context",
    (type) => {
      const event: Auth0Event = factory.event(type as string);
      const message = defaultMessage(event);
      expect(message.text.startsWith(`${type}: `)).toBe(true);
      expect(message.text).not.toContain("(no id)");
      expect(byType(message.blocks, "header")).toBeDefined();
      expect(fieldTexts(message.blocks).length).toBeGreaterThanOrEqual(2);
      const context = byType(message.blocks, "context") as unknown as { elements: Array<{ text: string }> };
      expect(context.elements[0]?.text).toContain(event.id);
      expect(context.elements[0]?.text).toContain("Tenant *acme*");
      expect(JSON.stringify(message).length).toBeLessThan(4000);
    },
  );

  it("user events: user_id, email and name", () => {
    const event = events.userCreated({ user_id: "auth0|42", email: "ada@example.com", name: "Ada Lovelace" });
    const message = defaultMessage(event);
    expect(message.text).toBe("user.created: auth0|42 (Email: ada@example.com, Name: Ada Lovelace)");
    expect(fieldTexts(message.blocks)).toEqual(
      expect.arrayContaining(["*Email*\nada@example.com", "*User ID*\n`auth0|42`"]),
    );
  });

  it("membership events: the user id, the organization and the role", () => {
    const event = events.organizationMemberRoleAssigned({
      organization: { id: "org_1", name: "initech" },
      user: { user_id: "auth0|7" },
      role: { id: "rol_1", name: "admin" },
    });
    expect(defaultMessage(event).text).toBe(
      "organization.member.role.assigned: auth0|7 (Organization: initech, Role: admin)",
    );
  });

  it("marks test events in the text, the header and the context line", () => {
    const message = defaultMessage(events.userDeleted({}, { a0purpose: "test" }));
    expect(message.text.startsWith("[test] user.deleted: ")).toBe(true);
    expect(JSON.stringify(byType(message.blocks, "header"))).toContain("[test] User deleted");
    expect(JSON.stringify(byType(message.blocks, "context"))).toContain("test event");
  });

  it("escapes event data so it cannot ping channels, and cuts long values", () => {
    const event = events.userCreated({ name: `<!channel> ${"y".repeat(5000)}`, email: "a@b" });
    const message = defaultMessage(event);
    expect(message.text).not.toContain("<!channel>");
    expect(message.text.length).toBeLessThanOrEqual(1000);
    const name = fieldTexts(message.blocks).find((t) => t.startsWith("*Name*")) ?? "";
    expect(name).toContain("&lt;!channel&gt;");
    expect(name.length).toBeLessThan(400);
  });

  it("escapes a hostile event type in every text it reaches", () => {
    const type = "<!channel> <https://evil.example|click here> & more";
    const event = { ...events.userCreated(), type } as unknown as Auth0Event;
    const message = defaultMessage(event);
    // Every mrkdwn text (the header is plain_text, where Slack reads no markup).
    const mrkdwn = [
      message.text,
      ...fieldTexts(message.blocks),
      JSON.stringify(byType(message.blocks, "context")),
    ];
    for (const text of mrkdwn) expect(text).not.toMatch(/<!channel>|<https:\/\/evil/);
    expect(message.text).toContain("&lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; more");
  });

  it("names the fields that changed on updates", () => {
    const event = events.userUpdated(
      { email: "new@example.com" },
      { previous_object: { email: "old@example.com", updated_at: "2020-01-01T00:00:00Z" } },
    );
    expect(fieldTexts(defaultMessage(event).blocks)).toContain("*Changed*\nemail");
  });

  it("handles unknown event types and odd payloads", () => {
    const unknown = events.of("brand.new.thing", { object: { id: "obj_1", name: "Thing" } });
    expect(defaultMessage(unknown).text).toBe("brand.new.thing: obj_1 (Name: Thing)");
    const odd = { ...unknown, data: { object: "not an object" } } as unknown as Auth0Event;
    expect(defaultMessage(odd).text).toBe("brand.new.thing: (no id)");
  });
});
