// What every fault test shares: seeded randomness (replay a failing run with FAULT_SEED), cleanups run in
// reverse after each test, and a bounded sleep for the faults whose timing is the point.

/** Deterministic randomness from `seed`, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    state ^= state >>> 13;
    return (state >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cleanups registered during a test, run last-registered first by `runCleanups` (in `afterEach`). */
export function cleanupList() {
  const cleanups: Array<() => unknown> = [];
  return {
    add: (cleanup: () => unknown) => cleanups.push(cleanup),
    async run() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}
