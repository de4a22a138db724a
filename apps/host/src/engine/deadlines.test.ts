import { TimeoutError } from "@switchyard/core";
import { waitFor } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import { DeadlineWindows } from "./deadlines.js";

describe("DeadlineWindows", () => {
  it("lets attempts that start together share one deadline, which expires with a TimeoutError", async () => {
    const windows = new DeadlineWindows(30);
    const a = windows.enter();
    const b = windows.enter();
    expect(b).toBe(a);
    await expect(a.expired).rejects.toBeInstanceOf(TimeoutError);
    expect(a.signal.aborted).toBe(true);
    windows.leave(a);
    windows.leave(b);
    // A window that expired is never handed out again.
    const c = windows.enter();
    expect(c).not.toBe(a);
    expect(c.signal.aborted).toBe(false);
    windows.leave(c);
    windows.abortAll(new Error("done"));
  });

  it("gives an attempt at least its full budget", async () => {
    const windows = new DeadlineWindows(40);
    const started = performance.now();
    const deadline = windows.enter();
    await deadline.expired.catch(() => {});
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    windows.leave(deadline);
  });

  it("opens a new window after 10 ms, and a finished old window never fires", async () => {
    const windows = new DeadlineWindows(60_000);
    const first = windows.enter();
    windows.leave(first);
    const opened = performance.now();
    await waitFor(() => performance.now() - opened > 12);
    const second = windows.enter();
    expect(second).not.toBe(first);
    // The first window was closed when the second opened: aborting everything leaves it alone.
    windows.abortAll(new Error("host shutting down"));
    expect(first.signal.aborted).toBe(false);
    expect(second.signal.aborted).toBe(true);
    await expect(second.expired).rejects.toThrow("host shutting down");
  });

  it("takes many listeners on a shared signal without a leak warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const windows = new DeadlineWindows(60_000);
    const deadline = windows.enter();
    for (let i = 0; i < 50; i++) deadline.signal.addEventListener("abort", () => {});
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", onWarning);
    expect(warnings).toEqual([]);
    windows.abortAll(new Error("done"));
  });
});
