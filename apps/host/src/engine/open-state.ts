import { ConfigError, describeError } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import type { HostLogger } from "../logger.js";
import { openHostStore } from "../store/open.js";
import type { StateStore } from "../store/types.js";

/**
 * Open the host's state. A shared database that cannot be reached yet (down, starting, restarting) is waited
 * for, with backoff up to 30 s, saying so each time (the host answers not-ready meanwhile); a wrong URL,
 * password or database fails at once with the reason (never the password). `signal` gives up waiting.
 */
export async function openState(
  loaded: LoadedConfig,
  log: HostLogger,
  signal: AbortSignal,
  onFailure: (error: Error) => void,
): Promise<StateStore> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openHostStore(loaded, onFailure);
    } catch (error) {
      const transient = (error as { transient?: unknown }).transient === true;
      if (!transient || signal.aborted) {
        const message = `cannot open the state store in ${loaded.stateDir}: ${describeError(error)}`;
        // A wrong URL, password or database is the config's to fix (exit 2), as any config error.
        if (loaded.state.engine === "postgres") throw new ConfigError(message);
        throw new Error(message, { cause: error });
      }
      const delayMs = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));
      log.warn(
        { state: loaded.stateDir, attempt, retryInMs: delayMs, error: describeError(error) },
        "the state database is not reachable yet: waiting for it (not ready meanwhile)",
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
