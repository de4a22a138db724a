// The audit-log part of the store conformance suite (AuditStore in src/store/types.ts): registered inside
// `describeStore`, so every engine runs it.
import { expect, it } from "vitest";
import type { AuditRecord } from "../../src/store/types.js";
import type { StoreSuite } from "./shared.js";

const T0 = 1_700_000_000_000;

const entry = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  at: T0 + n * 1_000,
  actor: `op-${n}`,
  operation: n % 2 === 0 ? "pause" : "replay",
  selection:
    n % 2 === 0 ? { action: "x" } : { action: "x", type: "user.*", since: "2026-01-01T00:00:00.000Z" },
  result: n % 2 === 0 ? {} : { count: n },
  ...overrides,
});

export function describeAudit({ store }: StoreSuite): void {
  it("audit: records operations and returns them newest first, whole, paged by id", async () => {
    for (let n = 1; n <= 5; n++) await store().recordAudit(entry(n));
    const all = await store().searchAudit({ limit: 10 });
    expect(all.map((e) => e.actor)).toEqual(["op-5", "op-4", "op-3", "op-2", "op-1"]);
    expect(all[0]).toEqual({ id: all[0]!.id, ...entry(5) });
    expect(all[1]).toEqual({ id: all[1]!.id, ...entry(4) });
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);

    const first = await store().searchAudit({ limit: 2 });
    const second = await store().searchAudit({ limit: 2, before: first.at(-1)!.id });
    const third = await store().searchAudit({ limit: 2, before: second.at(-1)!.id });
    expect([...first, ...second, ...third].map((e) => e.actor)).toEqual(all.map((e) => e.actor));

    expect((await store().searchAudit({ limit: 10, since: T0 + 4_000 })).map((e) => e.actor)).toEqual([
      "op-5",
      "op-4",
    ]);
  });

  it("audit: keeps text as it was given (quotes, unicode, nested selections)", async () => {
    const odd = entry(1, {
      actor: 'cli:ann "o\'brien"@höst',
      selection: { eventId: "evt_ü\\x", nested: { list: [1, "two", null] } },
      result: { count: 0, refused: [{ action: "x", eventId: "e", reason: "newer" }] },
    });
    await store().recordAudit(odd);
    const [got] = await store().searchAudit({ limit: 1 });
    expect(got).toEqual({ id: got!.id, ...odd });
  });

  it("audit: prunes entries made before a time, and only those", async () => {
    for (let n = 1; n <= 4; n++) await store().recordAudit(entry(n));
    expect(await store().pruneAudit(T0 + 3_000)).toBe(2);
    expect((await store().searchAudit({ limit: 10 })).map((e) => e.actor)).toEqual(["op-4", "op-3"]);
    expect(await store().pruneAudit(T0)).toBe(0);
  });
}
