// What routing a file action's console costs (engine/action-console.ts): a trivial async attempt that never
// prints, in a process that never entered the console's AsyncLocalStorage against one that did (Node 20 then
// keeps promise hooks on for the whole process), and inside the storage against beside it. Alternating pairs of
// fresh processes. Run: cd apps/host && node --conditions=@switchyard/source --import tsx bench/action-console.bench.ts
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withActionConsole } from "../src/engine/action-console.ts";

const N = 200_000;
const PAIRS = 5;
const sink = { action: { name: "bench" }, eventId: "evt_bench", line() {} };
const attempt = async () => {
  await null;
};

/** µs per attempt, the best of three rounds after a warm-up. */
async function measure(run: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 4; round++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) await run();
    if (round > 0) best = Math.min(best, ((performance.now() - started) * 1000) / N);
  }
  return best;
}

const mode = process.argv[2];
if (mode === "plain") {
  process.stdout.write(String(await measure(attempt)));
} else if (mode === "entered") {
  // One attempt ran in the storage once: every later promise pays for its hooks.
  await withActionConsole(sink, attempt);
  process.stdout.write(String(await measure(attempt)));
} else if (mode === "inside") {
  process.stdout.write(String(await measure(() => withActionConsole(sink, attempt))));
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (which: string) =>
    Number(execFileSync(process.execPath, [...process.execArgv, self, which], { encoding: "utf8" }));
  const rows: string[] = [];
  for (let pair = 1; pair <= PAIRS; pair++) {
    const plain = run("plain");
    const entered = run("entered");
    const inside = run("inside");
    rows.push(
      `pair ${pair}: never entered ${plain.toFixed(2)} µs, after entering ${entered.toFixed(2)} µs, inside ${inside.toFixed(2)} µs per attempt`,
    );
  }
  console.log(rows.join("\n"));
}
