import { events } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { display, escapeMrkdwn, truncate, valueAt } from "./format.js";
import { renderTemplate } from "./template.js";

describe("format helpers", () => {
  it("reads dotted paths through objects and arrays, own properties only", () => {
    const root = { a: { b: [{ c: 1 }] } };
    expect(valueAt(root, "a.b.0.c")).toBe(1);
    expect(valueAt(root, "a.x.c")).toBeUndefined();
    expect(valueAt(root, "a.constructor")).toBeUndefined();
    expect(valueAt(root, "__proto__")).toBeUndefined();
  });

  it("truncates with an ellipsis without splitting surrogate pairs", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    const cut = truncate("ab😀cd", 4);
    expect(cut).toBe("ab…");
    expect(cut.length).toBeLessThanOrEqual(4);
  });

  it("shows values on one line, objects as JSON, empties as undefined", () => {
    expect(display("a\n  b", 10)).toBe("a b");
    expect(display({ x: 1 }, 20)).toBe('{"x":1}');
    expect(display(true, 10)).toBe("true");
    expect(display("", 10)).toBeUndefined();
    expect(display(null, 10)).toBeUndefined();
  });

  it("escapes Slack's control characters", () => {
    expect(escapeMrkdwn("<!channel> & <http://x|y>")).toBe("&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
  });
});

describe("renderTemplate", () => {
  const event = events.userCreated({ email: "ada@example.com", name: "<!here> Ada" });

  it("fills placeholders from the event, escaping values but not the template", () => {
    expect(renderTemplate("<!here> New user {{data.object.email}} ({{ type }})", event)).toBe(
      "<!here> New user ada@example.com (user.created)",
    );
    expect(renderTemplate("{{data.object.name}}", event)).toBe("&lt;!here&gt; Ada");
  });

  it("leaves missing fields empty and never evaluates code", () => {
    expect(renderTemplate("[{{data.object.nope}}]", event)).toBe("[]");
    expect(renderTemplate("{{constructor.name}} {{process.env}}", event)).toBe(" ");
    expect(renderTemplate("{{ 1 + 1 }}", event)).toBe("{{ 1 + 1 }}");
  });

  it("reads array items and cuts long values", () => {
    expect(renderTemplate("{{data.object.identities.0.provider}}", event)).toBe("auth0");
    const long = events.userCreated({ name: "x".repeat(2000) });
    expect(renderTemplate("{{data.object.name}}", long).length).toBeLessThanOrEqual(500);
  });
});
