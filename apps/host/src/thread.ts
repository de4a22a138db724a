import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Start the module `name` (without extension) beside `from` (the caller's `import.meta.url`) on a thread of
 * its own: the built `.js`, or, when the host runs from its TypeScript sources (tests, tsx), the `.ts`, with
 * tsx's ESM loader registered in the thread before its entry.
 */
export function startThread(from: string, name: string, workerData: unknown): Worker {
  if (!from.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, from), { workerData });
  const tsx = createRequire(from)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const entry = new URL(`./${name}.ts`, from).href;
  const code = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData });
}
