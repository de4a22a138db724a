#!/usr/bin/env node
// Summarise a V8 .cpuprofile by module (package or file): where a benchmark's thread goes, coarse-grained.
import { readFileSync } from "node:fs";

const [file] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const totals = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const url = byId.get(id).callFrame.url;
  const pkg = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  const key =
    pkg ??
    (url.startsWith("node:")
      ? url.split("/").slice(0, 2).join("/")
      : url
        ? url.replace(/^.*\/(packages|plugins|apps)\//, "$1/")
        : byId.get(id).callFrame.functionName);
  const us = profile.timeDeltas[i] ?? 0;
  totals.set(key, (totals.get(key) ?? 0) + us);
  total += us;
});
for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
}
