import { describe, expect, it } from "vitest";
import type { Completion } from "../store/types.js";
import { DeliveryLedger, ROW_AFTER_MS } from "./tracking.js";

describe("DeliveryLedger", () => {
  it("moves the watermark to the newest ingested key when every held delivery settled", () => {
    const ledger = new DeliveryLedger("a");
    const one = ledger.hold(1, 0);
    const two = ledger.hold(2, 0);
    ledger.ingested(3);
    expect(ledger.withoutRow()).toBe(2);
    expect(ledger.settle(one)).toBe(true);
    expect(ledger.checkpoint(1, [])).toBe(1);
    expect(ledger.settle(two)).toBe(true);
    expect(ledger.checkpoint(1, [])).toBe(3);
    expect(ledger.withoutRow()).toBe(0);
  });

  it("holds the watermark below the oldest unsettled delivery, whatever settled after it", () => {
    const ledger = new DeliveryLedger("a");
    ledger.hold(5, 0);
    const later = ledger.hold(6, 0);
    ledger.ingested(6);
    ledger.settle(later);
    expect(ledger.checkpoint(ROW_AFTER_MS - 1, [])).toBe(4);
  });

  it("gives a row to a held delivery running past ROW_AFTER_MS, so the watermark passes it", () => {
    const ledger = new DeliveryLedger("a");
    const slow = ledger.hold(7, 0);
    ledger.ingested(9);
    const out: Completion[] = [];
    expect(ledger.checkpoint(ROW_AFTER_MS, out)).toBe(9);
    expect(out).toEqual([{ key: 7, action: "a", result: "running", attempts: 0 }]);
    expect(ledger.withoutRow()).toBe(0);
    // Its result now updates its row: it is no longer settled as rowless.
    expect(ledger.settle(slow)).toBe(false);
  });

  it("settles a delivery read from the store (no hold) as having a row", () => {
    expect(new DeliveryLedger("a").settle(undefined)).toBe(false);
  });

  it("stays correct across compaction of a long list", () => {
    const ledger = new DeliveryLedger("a");
    const holds = Array.from({ length: 5000 }, (_, i) => ledger.hold(i + 1, 0));
    ledger.ingested(5000);
    for (const hold of holds.slice(0, 4000)) ledger.settle(hold);
    expect(ledger.checkpoint(1, [])).toBe(4000);
    for (const hold of holds.slice(4000)) ledger.settle(hold);
    expect(ledger.checkpoint(1, [])).toBe(5000);
  });

  it("tracks nothing for a store that gives held deliveries a row at ingest (`heldDeliveries: row`)", () => {
    const ledger = new DeliveryLedger("a", "row");
    const hold = ledger.hold(3, 0);
    ledger.ingested(3);
    expect(ledger.withoutRow()).toBe(0);
    const out: Completion[] = [];
    expect(ledger.checkpoint(ROW_AFTER_MS * 10, out)).toBe(3);
    expect(out).toEqual([]);
    // It has a row: its delivered result deletes it.
    expect(ledger.settle(hold)).toBe(false);
  });
});
