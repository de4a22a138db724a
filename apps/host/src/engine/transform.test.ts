import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventTransform } from "./transform.js";

const factory = createEventFactory({ seed: 5 });
let dir: string;
const open: EventTransform[] = [];

const MODULES: Record<string, string> = {
  "loops-on-deleted.mjs": `export default (event) => {
  if (event.type === "user.deleted") for (;;) {}
  return { ...event, seen: true };
};`,
  "async.mjs":
    "export async function transform(event) { await new Promise((r) => setTimeout(r, 5)); return { id: event.id }; }",
  "nothing.mjs": "export default () => {};",
  "array.mjs": "export default () => [1];",
  "typed.ts": `interface Event { id: string; type: string }
export default function shape(event: Event): Event {
  if (event.type === "user.deleted") {
    throw new RangeError("deleted users are not shaped");
  }
  return event;
}`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-transform-"));
  for (const [file, text] of Object.entries(MODULES)) writeFileSync(join(dir, file), text);
});
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  rmSync(dir, { recursive: true, force: true });
});

function transform(file: string, timeoutMs = 1_000): EventTransform {
  const made = new EventTransform(`./${file}`, join(dir, file), timeoutMs);
  open.push(made);
  return made;
}

describe("EventTransform", () => {
  it("stops a synchronous endless loop at its budget without blocking the host's thread, then runs the next event", async () => {
    const t = transform("loops-on-deleted.mjs", 300);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await expect(t.run(factory.event("user.deleted"))).rejects.toThrow(
      /did not return within 300 ms and was stopped/,
    );
    clearInterval(timer);
    // The host's timers kept running while the transform spun in its worker.
    expect(ticks).toBeGreaterThan(5);
    // The next event gets a fresh worker.
    const created = factory.event("user.created");
    await expect(t.run(created)).resolves.toEqual({ ...created, seen: true });
  });

  it("awaits an async transform (a named `transform` export)", async () => {
    const event = factory.event("user.updated");
    await expect(transform("async.mjs").run(event)).resolves.toEqual({ id: event.id });
  });

  it("refuses a result that is not an event", async () => {
    const event = factory.event("user.created");
    await expect(transform("nothing.mjs").run(event)).rejects.toThrow(/returned nothing/);
    await expect(transform("array.mjs").run(event)).rejects.toThrow(/returned an array, not an event object/);
  });

  it("loads TypeScript as action files are, and names the line that threw", async () => {
    const t = transform("typed.ts");
    const created = factory.event("user.created");
    await expect(t.run(created)).resolves.toEqual(created);
    await expect(t.run(factory.event("user.deleted"))).rejects.toThrow(
      "transform ./typed.ts failed (at typed.ts:4): RangeError: deleted users are not shaped",
    );
  });
});
