import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { CONSOLE_DIR, consoleHandler } from "./static.js";

// The console's build in dist/console is made by the host tests' globalSetup (test/console-setup.ts).
let server: Server | undefined;
afterEach(() => server?.close());

/** A server answering with the console handler, and 404 for what it does not answer. */
async function serve(dir?: string): Promise<string> {
  const handle = consoleHandler(dir);
  server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end("not the console's");
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it("serves index.html on / with a strict CSP, no framing, and revalidation", async () => {
  const base = await serve();
  const response = await fetch(`${base}/`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(response.headers.get("cache-control")).toBe("no-cache");
  expect(response.headers.get("x-frame-options")).toBe("DENY");
  const csp = response.headers.get("content-security-policy") ?? "";
  expect(csp).toMatch(/^default-src 'self';/);
  expect(csp).not.toContain("unsafe-inline");
  expect(await response.text()).toContain('<div id="app"></div>');
});

it("serves the bundle's files with their content types, cached for good (their names change with them)", async () => {
  const base = await serve();
  const files = readdirSync(CONSOLE_DIR);
  const js = files.find((f) => f.endsWith(".js"))!;
  const css = files.find((f) => f.endsWith(".css"))!;
  const script = await fetch(`${base}/${js}`);
  expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  expect((await script.text()).length).toBeGreaterThan(1000);
  expect((await fetch(`${base}/${css}`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
  const head = await fetch(`${base}/${js}`, { method: "HEAD" });
  expect([head.status, await head.text()]).toEqual([200, ""]);
});

it("leaves every other request to the server: other paths, other methods, paths outside the build", async () => {
  const base = await serve();
  for (const path of [
    "/metrics",
    "/api/status",
    "/missing.js",
    "/..%2Fpackage.json",
    "/console/index.html",
  ]) {
    const response = await fetch(`${base}${path}`);
    expect([path, response.status]).toEqual([path, 404]);
  }
  expect((await fetch(`${base}/`, { method: "POST", body: "{}" })).status).toBe(404);
});

it("answers 503 with what to do when the console is not built", async () => {
  const base = await serve(join(tmpdir(), "switchyard-no-console-here"));
  const response = await fetch(`${base}/`);
  expect(response.status).toBe(503);
  expect(await response.text()).toMatch(/not built: run `pnpm build`/);
  expect((await fetch(`${base}/metrics`)).status).toBe(404);
});
