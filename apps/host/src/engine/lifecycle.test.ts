import pino from "pino";
import { describe, expect, it } from "vitest";
import { Lifecycle } from "./lifecycle.js";

const log = pino({ level: "silent" });

describe("Lifecycle", () => {
  it("stops the parts last-started first, once, and resolves done", async () => {
    const life = new Lifecycle(log, (t) => t);
    const order: string[] = [];
    life.defer(() => order.push("store"));
    life.defer(async () => {
      await Promise.resolve();
      order.push("runners");
    });
    life.defer(() => order.push("reader"));
    await Promise.all([life.stop(), life.stop()]);
    await life.done;
    expect(order).toEqual(["reader", "runners", "store"]);
  });

  it("stops every part when one fails to stop, and rejects done with a fatal error", async () => {
    const life = new Lifecycle(log, (t) => t);
    const order: string[] = [];
    life.defer(() => order.push("store"));
    life.defer(() => {
      throw new Error("close failed");
    });
    const fatal = new Error("disk full");
    life.fail(fatal);
    life.fail(new Error("a second failure is ignored"));
    await expect(life.done).rejects.toBe(fatal);
    expect(order).toEqual(["store"]);
    expect(life.stopped).toBe(true);
  });
});
