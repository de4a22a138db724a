#!/usr/bin/env node
// `pnpm bench`: run every package's benchmark, one after the other (they measure the machine, so never in
// parallel), then print one table of figures beside their same-run baselines and write bench/results.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "bench", ".results.jsonl");
mkdirSync(join(root, "bench"), { recursive: true });
rmSync(out, { force: true });

const only = process.argv.slice(2);
const packages = ["packages", "plugins", "apps"].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(group, entry.name)),
);
let failed = false;
for (const dir of packages) {
  const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
  if (!pkg.scripts?.bench) continue;
  if (only.length && !only.some((name) => dir.includes(name))) continue;
  console.log(`\n## ${pkg.name}`);
  const run = spawnSync("pnpm", ["run", "--silent", "bench"], {
    cwd: join(root, dir),
    stdio: "inherit",
    env: { ...process.env, SWITCHYARD_BENCH_OUT: out },
  });
  if (run.status !== 0) failed = true;
}

let results = [];
try {
  results = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
} catch {}
rmSync(out, { force: true });
writeFileSync(
  join(root, "bench", "results.json"),
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));
const rows = results.map((r) => [
  r.name,
  `${fmt(r.value)} ${r.unit}`,
  r.baseline ? `${fmt(r.baseline.value)} ${r.unit} (${r.baseline.name})` : "",
  r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
  r.target ?? "",
  r.pass === undefined ? "" : r.pass ? "yes" : "NO",
]);
const header = ["benchmark", "ours", "baseline (same run)", "ratio", "target", "met"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(`\n${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}`);
for (const row of rows) console.log(line(row));
console.log("\nwritten to bench/results.json");
process.exit(failed ? 1 : 0);
