import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** The host's source modules (tests aside) and the relative modules each imports, types included. */
function graph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter(
    (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
  );
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(SRC, file), "utf8");
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) =>
      relative(SRC, resolve(SRC, dirname(file), match[1]!.replace(/\.js$/, ".ts"))),
    );
    edges.set(file, targets);
  }
  return edges;
}

/** Every cycle found by a depth-first walk, each as the chain of modules that closes it. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next) && edges.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of edges.keys()) if (!state.has(file)) visit(file);
  return found;
}

it("has no import cycles in apps/host/src (type imports included)", () => {
  const edges = graph();
  expect(edges.size).toBeGreaterThan(50);
  expect(cycles(edges).map((cycle) => cycle.join(" > "))).toEqual([]);
});

it("finds a cycle when there is one", () => {
  const edges = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
  ]);
  expect(cycles(edges)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
});

// Issue 28's seam: `startHost` only wires the parts; what each part does lives in its own module.
it("keeps startHost to at most 110 lines of wiring", () => {
  const text = readFileSync(join(SRC, "host.ts"), "utf8").split("\n");
  const first = text.findIndex((line) => line.startsWith("export async function startHost("));
  const last = text.findIndex((line, i) => i > first && line === "}");
  expect(first).toBeGreaterThan(-1);
  expect(last - first + 1).toBeLessThanOrEqual(110);
});
