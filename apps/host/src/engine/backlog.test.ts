import { describe, expect, it } from "vitest";
import { Backlog } from "./backlog.js";

describe("Backlog", () => {
  it("is full at its cap and makes room below 90% of it", async () => {
    const backlog = new Backlog(10);
    backlog.added(10);
    expect(backlog.full()).toBe(true);
    let released = false;
    const room = backlog.room(new AbortController().signal).then(() => {
      released = true;
    });
    backlog.finished(1);
    await Promise.resolve();
    expect(released).toBe(false);
    backlog.finished(1);
    await room;
    expect(released).toBe(true);
    expect(backlog.unfinished).toBe(8);
  });

  it("lets a waiter go when the signal aborts", async () => {
    const backlog = new Backlog(1);
    backlog.added(5);
    const controller = new AbortController();
    const room = backlog.room(controller.signal);
    controller.abort();
    await room;
    expect(backlog.full()).toBe(true);
  });

  it("never counts below zero, and takes a recount", () => {
    const backlog = new Backlog(100);
    backlog.finished(3);
    expect(backlog.unfinished).toBe(0);
    backlog.reset(42);
    expect(backlog.unfinished).toBe(42);
  });
});
