// The memory engine of the store contract (../types.ts): the contract's executable spec, in plain maps,
// and a store for fast unit tests. One host (no `leadership`, no `replicaId`), and a row for every delivery
// it holds (`heldDeliveries: row`). It runs the same conformance suite as SQLite and Postgres (conformance.test.ts).
import type { StateStore, StoreMethods } from "../types.js";
import { memoryAudit } from "./audit.js";
import { memoryDeadLetters } from "./dead-letters.js";
import { memoryDeliveries } from "./deliveries.js";
import { memoryHistory } from "./history.js";
import { type Answers, createMemoryState, type MemoryState } from "./state.js";
import { memoryStates } from "./states.js";
import { memoryUpkeep } from "./upkeep.js";

export { createMemoryState, type MemoryState } from "./state.js";

export interface MemoryStoreOptions {
  /**
   * The state to open: one an earlier store used, found again as a restarted host finds its SQLite folder
   * (what it held in flight is for `recover`). Default: a new, empty state.
   */
  state?: MemoryState;
}

/** The memory store: the contract, with its capabilities fixed. */
export type MemoryStore = StateStore & {
  readonly engine: "memory";
  readonly heldDeliveries: "row";
};

/** The contract's methods, which every facet answers synchronously (all but `close`). */
type Methods = Omit<StoreMethods, "close">;

/** Open a store on `options.state` (or a new one). */
export function openMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const state = options.state ?? createMemoryState();
  const methods: Answers<Methods> = {
    ...memoryDeliveries(state),
    ...memoryDeadLetters(state),
    ...memoryStates(state),
    ...memoryHistory(state),
    ...memoryAudit(state),
    ...memoryUpkeep(state),
  };
  let closed = false;
  const store: Record<string, unknown> = {
    engine: "memory",
    heldDeliveries: "row",
    // Closing twice is no error. The state stays, for a store opened on it again.
    close: async () => {
      closed = true;
    },
  };
  for (const [name, method] of Object.entries(methods)) {
    // Each method runs to its end without awaiting: it is atomic, and calls run one after another. A closed
    // store answers nothing: its operations reject, as SQLite's do once its file is closed.
    store[name] = async (...args: unknown[]) => {
      if (closed) throw new Error(`[switchyard] [memory] the store is closed (${name})`);
      return (method as (...a: unknown[]) => unknown)(...args);
    };
  }
  return store as unknown as MemoryStore;
}
