import { setMaxListeners } from "node:events";
import { TimeoutError } from "@switchyard/core";
import type { Deadline } from "@switchyard/core/internal";

/** Attempts that start within this many milliseconds of each other share one deadline. */
const WINDOW_MS = 10;

class Window implements Deadline {
  readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  readonly expired: Promise<never>;
  /** Attempts inside the window that have not finished. */
  active = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(readonly opensAt: number) {
    // Every attempt in flight (and undici's request) listens on the shared signal.
    setMaxListeners(0, this.signal);
    let cancel!: (reason: unknown) => void;
    this.expired = new Promise<never>((_, reject) => {
      cancel = reject;
    });
    this.expired.catch(() => {});
    this.signal.addEventListener("abort", () => cancel(this.signal.reason), { once: true });
  }
}

/**
 * Time budgets for one action's attempts, shared by the attempts that start in the same 10 ms: one
 * AbortController, one timer and one promise per window instead of per attempt (per attempt, they cost
 * about as much as the HTTP request itself). Every attempt still gets at least its full budget, and at most
 * 10 ms more.
 */
export class DeadlineWindows {
  private current: Window | undefined;
  private readonly open = new Set<Window>();

  constructor(private readonly timeoutMs: number) {}

  /** The deadline of an attempt starting now; hand it back with `leave` when the attempt ends. */
  enter(): Deadline {
    const now = performance.now();
    let window = this.current;
    if (window === undefined || now - window.opensAt >= WINDOW_MS) {
      if (window !== undefined && window.active === 0) this.close(window);
      window = new Window(now);
      const opened = window;
      opened.timer = setTimeout(() => {
        this.open.delete(opened);
        if (this.current === opened) this.current = undefined;
        opened.controller.abort(new TimeoutError(this.timeoutMs));
      }, this.timeoutMs + WINDOW_MS);
      // An attempt in flight keeps the process alive by its own I/O, not by its deadline.
      opened.timer.unref();
      this.open.add(window);
      this.current = window;
    }
    window.active++;
    return window;
  }

  leave(deadline: Deadline): void {
    const window = deadline as Window;
    if (--window.active === 0 && window !== this.current) this.close(window);
  }

  /** Abort every attempt in flight (shutdown). */
  abortAll(reason: unknown): void {
    for (const window of this.open) {
      clearTimeout(window.timer);
      window.controller.abort(reason);
    }
    this.open.clear();
    this.current = undefined;
  }

  private close(window: Window): void {
    clearTimeout(window.timer);
    this.open.delete(window);
  }
}
