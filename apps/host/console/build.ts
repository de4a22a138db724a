import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const HERE = fileURLToPath(new URL(".", import.meta.url));
/** Where the host serves the console from (src/admin/static.ts). */
export const CONSOLE_DIST = fileURLToPath(new URL("../dist/console/", import.meta.url));

/**
 * Bundle the console into `outDir`: index.html, one JS file and one CSS file, their names hashed so that
 * the server can let browsers keep them for good (only index.html is revalidated). The bundle is written to
 * a sibling folder first and then renamed, so a host serving `outDir` never sees half a build.
 */
export async function buildConsole(outDir = CONSOLE_DIST): Promise<{ js: string; css: string }> {
  const staging = join(dirname(outDir), `.${basename(outDir)}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: { app: join(HERE, "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "[name]-[hash]",
    outdir: staging,
    metafile: true,
    legalComments: "none",
    logLevel: "error",
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const js = outputs.find((file) => file.endsWith(".js"));
  const css = outputs.find((file) => file.endsWith(".css"));
  if (js === undefined || css === undefined)
    throw new Error(`console build: expected a JS and a CSS file, got ${outputs}`);
  const html = readFileSync(join(HERE, "index.html"), "utf8").replace("app.css", css).replace("app.js", js);
  writeFileSync(join(staging, "index.html"), html);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);
  return { js, css };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { js, css } = await buildConsole();
  process.stdout.write(`console: ${CONSOLE_DIST} (${js}, ${css})\n`);
}
