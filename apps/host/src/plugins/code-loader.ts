import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { pathToFileURL } from "node:url";

// How the host loads a user's module (an action file, a transform): plain `import()` for JavaScript, tsx for
// TypeScript. One decision, used in the main thread (plugins/load.ts) and in a transform's worker
// (engine/transform.ts), so that a file loads the same way in both.

const TS = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** How to load `file`: `import()`, tsx's ESM loader, or tsx's require hook. */
export type CodeLoader = "import" | "tsx-esm" | "tsx-cjs";

export function loaderFor(file: string): CodeLoader {
  const ext = extname(file);
  if (!TS.has(ext)) return "import";
  // tsx's ESM loader runs a CommonJS-scoped .ts file from a data: URL, and every stack trace through it then
  // shows kilobytes of that URL; its require hook keeps the file's path and line (with source maps).
  if (ext === ".cts" || (ext !== ".mts" && !isModuleScope(dirname(file)))) return "tsx-cjs";
  return "tsx-esm";
}

/** Import `file` (an absolute path) as the host does. */
export async function importCode(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  switch (loaderFor(file)) {
    case "tsx-cjs": {
      const { require: tsxRequire } = await import("tsx/cjs/api");
      return tsxRequire(file, import.meta.url);
    }
    case "tsx-esm": {
      const { tsImport } = await import("tsx/esm/api");
      return tsImport(url, import.meta.url);
    }
    default:
      return import(url);
  }
}

/** True when the nearest package.json above `dir` says `"type": "module"`, as Node decides for `.js`/`.ts`. */
function isModuleScope(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    const manifest = join(at, "package.json");
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown }).type === "module";
      } catch {
        return false;
      }
    }
    if (dirname(at) === at) return false;
  }
}
