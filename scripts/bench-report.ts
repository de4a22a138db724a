import { appendFileSync } from "node:fs";

/** One benchmark figure beside its same-run baseline; collected by scripts/bench.mjs into one table. */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline?: { name: string; value: number };
  /** Our figure relative to the baseline, in the direction where higher is better. */
  ratio?: number;
  target?: string;
  pass?: boolean;
}

export function reportBench(result: BenchResult): void {
  const out = process.env.SWITCHYARD_BENCH_OUT;
  if (out) appendFileSync(out, `${JSON.stringify(result)}\n`);
  const ratio = result.ratio === undefined ? "" : `  ratio ${result.ratio.toFixed(2)}×`;
  console.log(
    `→ ${result.name}: ${result.value.toFixed(1)} ${result.unit}${ratio}${result.target ? `  (target ${result.target})` : ""}`,
  );
}
