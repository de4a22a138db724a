import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, expect, it } from "vitest";
import { buildConsole } from "../console/build.ts";

const dir = mkdtempSync(join(tmpdir(), "switchyard-console-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("builds the console into index.html, one JS and one CSS file, under 100 KB of gzipped JavaScript, fetching nothing", async () => {
  const out = join(dir, "console");
  const { js, css } = await buildConsole(out);
  expect(readdirSync(out).sort()).toEqual([css, js, "index.html"].sort());
  const script = readFileSync(join(out, js));
  const gzipped = gzipSync(script, { level: 9 }).length;
  expect(gzipped).toBeLessThan(100 * 1024);
  const html = readFileSync(join(out, "index.html"), "utf8");
  expect(html).toContain(`<script type="module" src="${js}"></script>`);
  expect(html).toContain(`<link rel="stylesheet" href="${css}" />`);
  // The strict Content-Security-Policy allows no inline script; and nothing may come from elsewhere.
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  for (const text of [html, readFileSync(join(out, css), "utf8")])
    expect(text).not.toMatch(/(https?:)?\/\/[a-z]/i);
  expect(script.toString("utf8")).not.toMatch(/(fetch|import)\(\s*["'`](https?:)?\/\//);
});
