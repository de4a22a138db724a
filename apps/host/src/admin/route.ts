import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import type { LoadedConfig } from "../config/load.js";
import type { ActionControl } from "../engine/control.js";
import type { HostStatus } from "../engine/status.js";
import type { Metrics } from "../metrics.js";
import type { StateStore } from "../store/types.js";
import type { Principal, Role } from "./roles.js";

/** What the admin API reads and changes: the running host's parts. */
export interface AdminContext {
  loaded: LoadedConfig;
  store: StateStore;
  status: HostStatus;
  metrics: Metrics;
  /** Applies a pause or resume on this host at once (other replicas follow within a second). */
  control: ActionControl;
  /** This host's replica id. */
  replica: string;
  version: string;
  /** Whether an Auth0 stream source is configured. */
  streamConfigured: boolean;
  /** The first webhook's URL (what `/api/status` has always shown). */
  webhookUrl?: string | undefined;
  /** Where each tenant's webhook listens (tenants without a webhook are absent). */
  webhookUrls: ReadonlyArray<{ tenant: string; url: string }>;
  ready: () => boolean;
}

/** A request the API refuses, with a message for the caller. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One call as a handler sees it: its path parameters, query and body already validated by the route. */
export interface Call<Q, B> {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  query: Q;
  body: B;
  /** Who calls (undefined only on an open route called without a valid token). */
  who: Principal | undefined;
  /** Whether this server has admin tokens. */
  tokenRequired: boolean;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * One route of the admin API: the handlers are dispatched from it (api.ts) and the OpenAPI document is
 * generated from it (openapi.ts), so the two cannot disagree.
 */
export interface Route {
  method: "GET" | "POST";
  /** The path as OpenAPI writes it: `/api/actions/{name}/pause`. */
  path: string;
  summary: string;
  /** Who may call it: any token's holder (`viewer`), an `operator`, or `anyone` (no token needed). */
  role: Role | "anyone";
  /** Its query parameters, when it takes some. */
  query?: z.ZodObject | undefined;
  /** Its JSON body, when it takes one (a POST without one accepts any JSON and ignores it). */
  body?: z.ZodType | undefined;
  /** Its answer (200). */
  answer: z.ZodType;
  /** Answers while the host is starting (its state not open yet): needs nothing of the context. */
  whileStarting?: boolean | undefined;
  /** Descriptions of the path parameters, by name. */
  params?: Record<string, string> | undefined;
  handler: (ctx: AdminContext, call: Call<never, never>) => Promise<unknown>;
}

/** A typed route: the handler's query and body are the route's schemas' output, its answer their input. */
export function route<
  A extends z.ZodType,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  spec: Omit<Route, "handler" | "query" | "body" | "answer"> & {
    answer: A;
    query?: Q;
    body?: B;
    handler: (ctx: AdminContext, call: Call<Output<Q>, Output<B>>) => Promise<z.input<A>>;
  },
): Route {
  return spec as unknown as Route;
}

/** A path template as a pattern: each `{name}` one segment, captured in order. */
export function pathPattern(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (part.startsWith("{")) {
        names.push(part.slice(1, -1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { pattern: new RegExp(`^${source}$`), names };
}

/** Parse `input` with `schema`, or refuse the call with the first issue, naming its field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new ApiError(400, `${where}: ${field}${issue.message}`);
}
