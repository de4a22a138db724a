import type { IncomingMessage, ServerResponse } from "node:http";
import { hasControlCharacter } from "@switchyard/core";
import { SelectionRequiredError } from "../operations.js";
import type { Admission } from "./guard.js";
import { type AdminContext, ApiError, parse, pathPattern, type Route } from "./route.js";
import { ROUTES } from "./routes.js";

export type { AdminContext } from "./route.js";

const MAX_BODY = 64 * 1024;

const table = ROUTES.map((route) => ({ route, ...pathPattern(route.path) }));

/** The routes at a path (one per method); empty when there is no such route. */
function routesAt(path: string) {
  return table.filter(({ pattern }) => pattern.test(path));
}

/** Whether a path is a route anyone may call, without a token (the guard lets it through). */
export function isOpenRoute(pathname: string): boolean {
  return routesAt(pathname.replace(/\/+$/, "")).some(({ route }) => route.role === "anyone");
}

/**
 * Answer one `/api/` request (the guard has let it through, saying who makes it). Every answer is JSON,
 * passed through the config's redactor last, so that no secret of the config can appear in one whatever a
 * field holds.
 */
export async function handleApi(
  ctx: AdminContext | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  redact: (text: string) => string,
  admission: Admission,
): Promise<void> {
  const send = (status: number, body: unknown): void => {
    // Serialised before the head is written: a body that cannot be (too deep) still gets its 500.
    const text = redact(JSON.stringify(body));
    res
      .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
      .end(text);
  };
  const path = url.pathname.replace(/\/+$/, "");
  const matching = routesAt(path);
  if (matching.length === 0) return send(404, { error: `no such API route: ${path}` });
  const method = req.method === "HEAD" ? "GET" : req.method;
  const found = matching.find(({ route }) => route.method === method);
  if (!found) {
    const methods = matching.map(({ route }) => route.method).join(", ");
    res.setHeader("allow", methods);
    return send(405, { error: `${path} takes ${methods}` });
  }
  const { route, pattern, names } = found;
  const refusal = roleRefusal(route, admission);
  if (refusal) return send(refusal.status, { error: refusal.error });
  if (!ctx && !route.whileStarting) {
    return send(503, { error: "the host is starting: its state store is not open yet" });
  }
  try {
    const values = pattern.exec(path)!.slice(1).map(decodeParam);
    const params = Object.fromEntries(names.map((name, i) => [name, values[i]!]));
    for (const value of url.searchParams.values()) checkParam(value);
    const query = route.query ? parse(route.query, Object.fromEntries(url.searchParams), "query") : undefined;
    const raw = route.method === "POST" ? await readJson(req) : undefined;
    const body = route.body ? parse(route.body, raw, "body") : undefined;
    const call = { req, url, params, query, body, ...admission };
    // A route that answers while starting needs nothing of the context (see Route.whileStarting).
    send(200, await route.handler(ctx as AdminContext, call as never));
  } catch (error) {
    if (error instanceof ApiError) return send(error.status, { error: error.message });
    if (error instanceof SelectionRequiredError) return send(400, { error: error.message });
    send(500, { error: "the state store could not answer; see the host's log" });
    throw error;
  }
}

/** Why the caller may not call this route (a viewer's token on a change), if so. */
function roleRefusal(route: Route, { who }: Admission): { status: number; error: string } | undefined {
  if (route.role === "anyone") return undefined;
  if (!who) return { status: 401, error: "this server needs an admin token" };
  if (route.role === "operator" && who.role !== "operator") {
    return {
      status: 403,
      error: `the token "${who.name}" is a viewer's: it reads everything and changes nothing (an operator's token may)`,
    };
  }
  return undefined;
}

/** A path parameter, percent-decoded; malformed encoding is the caller's error, not the host's. */
function decodeParam(raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, `malformed percent-encoding in the path: ${raw.slice(0, 100)}`);
  }
  return checkParam(value);
}

/** No id, name or pattern holds a control character; PostgreSQL refuses NUL in text outright. */
function checkParam(value: string): string {
  if (hasControlCharacter(value)) throw new ApiError(400, "a parameter holds a control character");
  return value;
}

/** The request's JSON body (at most 64 KB); `{}` when empty. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, "the body is larger than 64 KB");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "body: not valid JSON");
  }
  // Selections are flat: a string field is an id, a name, a pattern or a time.
  if (body !== null && typeof body === "object") {
    for (const value of Object.values(body)) if (typeof value === "string") checkParam(value);
  }
  return body;
}
