import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The console's build (console/build.ts writes it; the same path from src/admin and dist/admin). */
export const CONSOLE_DIR = fileURLToPath(new URL("../../dist/console/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

// Only the bundle's own files run (no inline script or style, no other origin); the API is same-origin.
// Inline SVG and style set from script (CSSOM) are not inline sources, so the sparklines need nothing more.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const MISSING =
  "The console is not built: run `pnpm build` (or `pnpm --filter @switchyard/host build`) and reload.\n";

/**
 * Serves the operator console: GET `/` (index.html, revalidated on every load) and the bundle's files, whose
 * names carry a hash of their content and so are kept by browsers for good. Answers 503 on `/` when the
 * console is not built. Returns whether it answered the request.
 */
export function consoleHandler(dir = CONSOLE_DIR): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const name = path === "/" ? "index.html" : path.slice(1);
    // Only the build's own files, by exact name (no path from the request is ever joined), and only names
    // that could be one: /metrics and /api/… never touch the disk.
    if (name.includes("/") || CONTENT_TYPES[extname(name)] === undefined) return false;
    const files = listFiles(dir);
    if (files === undefined || !files.includes("index.html")) {
      if (path !== "/") return false;
      res
        .writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
        .end(MISSING);
      return true;
    }
    if (!files.includes(name)) return false;
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name));
    } catch {
      return false;
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
      "content-length": body.length,
      "cache-control": name === "index.html" ? "no-cache" : "public, max-age=31536000, immutable",
      ...SECURITY_HEADERS,
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}

function listFiles(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}
