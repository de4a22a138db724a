import { useEffect, useRef, useState } from "preact/hooks";
import { describe } from "./api.ts";

/** How often every page reloads what it shows. */
export const POLL_MS = 2000;

export interface Polled<T> {
  data?: T;
  error?: string;
  /** Load again now (after a change the page made). */
  refresh(): void;
}

/**
 * Load with `load` now and every 2 s after each answer, while the tab is visible (a hidden tab asks nothing;
 * showing it again loads at once). A new `key` (other filters, another event) starts over. A failed load
 * keeps the last data and reports the error, so the page says what is wrong without going blank.
 */
export function usePoll<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Polled<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: string }>({ key });
  const [nudges, setNudges] = useState(0);
  const latest = useRef(load);
  latest.current = load;

  useEffect(() => {
    let stopped = false;
    let loading = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const controller = new AbortController();
    const run = async () => {
      clearTimeout(timer);
      if (stopped || loading || document.hidden) return;
      loading = true;
      try {
        const data = await latest.current(controller.signal);
        if (!stopped) setState({ key, data });
      } catch (error) {
        if (!stopped)
          setState((old) => ({ key, data: old.key === key ? old.data : undefined, error: describe(error) }));
      } finally {
        loading = false;
      }
      if (!stopped && !document.hidden) timer = setTimeout(run, POLL_MS);
    };
    const onVisibility = () => (document.hidden ? clearTimeout(timer) : void run());
    document.addEventListener("visibilitychange", onVisibility);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller.abort();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, nudges]);

  const current = state.key === key ? state : { key };
  return { data: current.data, error: current.error, refresh: () => setNudges((n) => n + 1) };
}
