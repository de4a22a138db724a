import { describe, expect, it } from "vitest";
import { KeyTurns } from "./key-turns.js";

describe("KeyTurns", () => {
  it("gives each key one turn; later items wait in order; other keys never wait", () => {
    const turns = new KeyTurns<string>();
    expect(turns.enter("u1", "a")).toBe(true);
    expect(turns.enter("u1", "b")).toBe(false);
    expect(turns.enter("u2", "x")).toBe(true);
    expect(turns.enter("u1", "c")).toBe(false);
    expect(turns.busy("u1")).toBe(true);
    expect(turns.waiting).toBe(2);
    expect(turns.next("u1")).toBe("b");
    expect(turns.next("u1")).toBe("c");
    expect(turns.busy("u1")).toBe(true);
    expect(turns.next("u1")).toBeUndefined();
    expect(turns.busy("u1")).toBe(false);
    expect(turns.size).toBe(1);
  });

  it("leaving a key hands back what waited; draining keeps the current turns", () => {
    const turns = new KeyTurns<string>();
    turns.enter("u1", "a");
    turns.enter("u1", "b");
    turns.enter("u2", "x");
    turns.enter("u2", "y");
    expect(turns.leave("u1")).toEqual(["b"]);
    expect(turns.busy("u1")).toBe(false);
    expect(turns.waiting).toBe(1);
    expect(turns.drainWaiting()).toEqual(["y"]);
    expect(turns.waiting).toBe(0);
    expect(turns.busy("u2")).toBe(true);
    expect(turns.next("u2")).toBeUndefined();
    expect(turns.size).toBe(0);
  });
});
