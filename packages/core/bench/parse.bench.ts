// Parsing 100,000 realistic stream messages: our checked parse vs a bare JSON.parse, in the same run.
import { readFileSync } from "node:fs";
import { reportBench } from "../../../scripts/bench-report.ts";
import { parseStreamMessage } from "../src/parse.js";

const lines = readFileSync(new URL("../test/fixtures/stream-messages.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n");
const N = 100_000;
const inputs = Array.from({ length: N }, (_, i) => lines[i % lines.length] as string);

function time(label: string, fn: (line: string) => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (const line of inputs) fn(line);
    best = Math.min(best, performance.now() - started);
  }
  console.log(`${label.padEnd(28)} ${best.toFixed(0).padStart(6)} ms for ${N} messages`);
  return best;
}

const bare = time("JSON.parse (baseline)", (line) => JSON.parse(line));
const ours = time("parseStreamMessage", (line) => {
  const result = parseStreamMessage(line);
  if (!result.ok) throw result.error;
});
reportBench({
  name: "core: parse 100k stream messages",
  unit: "ms",
  value: ours,
  baseline: { name: "JSON.parse", value: bare },
  ratio: bare / ours,
  target: "< 1000 ms",
  pass: ours < 1000,
});
