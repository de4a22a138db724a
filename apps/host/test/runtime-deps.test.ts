import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

// A production install (`npm install @switchyard/host`) has each package's `dependencies` and nothing else.
// This walks the code the host runs, from every non-test source file of the host into the main entries of
// the workspace packages it imports, and checks that each package imported at run time is a dependency of
// the package whose code imports it: a devDependency (vitest, undici in the host) would work in the
// workspace and fail with ERR_MODULE_NOT_FOUND once installed. scripts/pack-install.mjs proves the same end
// to end; this catches it in seconds.

const HOST = fileURLToPath(new URL("..", import.meta.url));
const BUILTINS = new Set(builtinModules);

interface Pkg {
  dir: string;
  name: string;
  dependencies: Record<string, string>;
  exports: Record<string, Record<string, string>>;
}

function readPkg(dir: string): Pkg {
  return { dir, ...JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) };
}

/** Specifiers imported at run time: static imports and re-exports (not `import type`), `import()`, `resolve()`. */
function runtimeImports(source: string): string[] {
  const code = source.replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\.resolve\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1]!);
  return found;
}

const packageName = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".d.ts"))
    .map((file) => join(dir, file));
}

/** Every `[importer package, imported package, file]` reached from the host's source files. */
function walk(): Array<{ from: Pkg; imported: string; file: string }> {
  const host = readPkg(HOST);
  const queue: Array<{ file: string; pkg: Pkg }> = sourceFiles(join(HOST, "src")).map((file) => ({
    file,
    pkg: host,
  }));
  const seen = new Set<string>();
  const edges: Array<{ from: Pkg; imported: string; file: string }> = [];
  while (queue.length > 0) {
    const { file, pkg } = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of runtimeImports(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) {
        queue.push({ file: resolve(dirname(file), specifier.replace(/\.js$/, ".ts")), pkg });
        continue;
      }
      const name = packageName(specifier);
      if (specifier.startsWith("node:") || BUILTINS.has(name)) continue;
      edges.push({ from: pkg, imported: name, file });
      if (!name.startsWith("@switchyard/")) continue;
      // Follow a workspace package into the source of the entry imported.
      const dep = readPkg(realpathSync(join(pkg.dir, "node_modules", name)));
      const subpath = `.${specifier.slice(name.length)}`;
      const entry = dep.exports[subpath]?.["@switchyard/source"];
      if (entry) queue.push({ file: join(dep.dir, entry), pkg: dep });
    }
  }
  return edges;
}

it("imports at run time only what a production install of the host has", () => {
  const edges = walk();
  const names = new Set(edges.map((edge) => edge.imported));
  // The walk really reached the workspace packages and their third-party dependencies.
  expect(names).toContain("@switchyard/testing");
  expect(names).toContain("better-sqlite3");
  expect(names).toContain("standardwebhooks");
  const missing = edges
    .filter((edge) => edge.imported !== edge.from.name && !(edge.imported in edge.from.dependencies))
    .map((edge) => `${edge.from.name} imports ${edge.imported} (${edge.file}), not one of its dependencies`);
  expect(missing).toEqual([]);
});
