import { describe, expect, it } from "vitest";
import { encodedEvent } from "./encoded.js";

describe("encodedEvent", () => {
  it("keeps the JSON text as given and encodes it to UTF-8 once", () => {
    // Auth0's own text, spacing included: what was read is what is sent.
    const json = '{"id":"evt_1", "type":"user.created","data":{"object":{"name":"Zoë 山田"}}}';
    const encoded = encodedEvent(json);
    expect(encoded.json).toBe(json);
    const bytes = encoded.bytes;
    expect(Buffer.from(bytes).toString("utf8")).toBe(json);
    expect(bytes.byteLength).toBe(Buffer.byteLength(json));
    expect(encoded.bytes).toBe(bytes);
  });
});
