import type { z } from "zod";
import type {
  ActionStateAnswer,
  ActionsAnswer,
  ActivityAnswer,
  AuditAnswer,
  BulkAnswer,
  DeadLetterSelection,
  DeadLettersAnswer,
  DeliveriesAnswer,
  EventAnswer,
  StatusAnswer,
  WhoamiAnswer,
} from "../src/admin/schemas.ts";

// The wire types come from the server's own zod schemas (types only: nothing of zod reaches the bundle).
export type Status = z.infer<typeof StatusAnswer>;
export type TenantStatus = Status["tenants"][number];
export type Actions = z.infer<typeof ActionsAnswer>;
export type Action = Actions["actions"][number];
export type Activity = z.infer<typeof ActivityAnswer>;
export type Deliveries = z.infer<typeof DeliveriesAnswer>;
export type Attempt = Deliveries["items"][number];
export type EventView = z.infer<typeof EventAnswer>;
export type DeadLetters = z.infer<typeof DeadLettersAnswer>;
export type DeadLetter = DeadLetters["items"][number];
export type Selection = z.infer<typeof DeadLetterSelection>;
export type Bulk = z.infer<typeof BulkAnswer>;
export type ActionState = z.infer<typeof ActionStateAnswer>;
export type Whoami = z.infer<typeof WhoamiAnswer>;
export type Audit = z.infer<typeof AuditAnswer>;
export type AuditEntry = Audit["items"][number];

const TOKEN_KEY = "switchyard.adminToken";

/** An answer that was not a success, with the server's own words when it gave some. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let tokenListeners: Array<(needed: boolean) => void> = [];

/** Called with `true` when the server asks for the admin token (401), `false` once one is given. */
export function onTokenNeeded(listener: (needed: boolean) => void): () => void {
  tokenListeners.push(listener);
  return () => {
    tokenListeners = tokenListeners.filter((l) => l !== listener);
  };
}

export const hasToken = () => sessionStorage.getItem(TOKEN_KEY) !== null;

/** Keep the admin token for this tab only (sessionStorage); it travels in the Authorization header, never a URL. */
export function setToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  for (const listener of tokenListeners) listener(token === undefined);
}

async function call<T>(path: string, options: { body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) headers.authorization = `Bearer ${token}`;
  // Every change is a JSON POST: the server refuses any other content type (no form can forge one).
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api/${path}`, {
    method: options.body === undefined ? "GET" : "POST",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
    signal: options.signal,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.status === 401) {
    for (const listener of tokenListeners) listener(true);
  }
  if (!response.ok) {
    const error = (json as { error?: unknown } | undefined)?.error;
    const detail = typeof error === "string" ? error : text.slice(0, 200) || response.statusText;
    throw new ApiError(response.status, `${response.status}: ${detail}`);
  }
  if (json === undefined)
    throw new ApiError(response.status, `the server's answer is not JSON: ${text.slice(0, 200)}`);
  return json as T;
}

/** A query string of the set values only. */
export function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export const api = {
  /** Never refused: says whether the server needs a token, and whose the tab's token is. */
  whoami: (signal?: AbortSignal) => call<Whoami>("whoami", { signal }),
  audit: (filters: Record<string, string | undefined>, signal?: AbortSignal) =>
    call<Audit>(`audit${query(filters)}`, { signal }),
  status: (signal?: AbortSignal) => call<Status>("status", { signal }),
  /** Every action; with `tenant`, only those that take its events. */
  actions: (signal?: AbortSignal, tenant?: string) =>
    call<Actions>(`actions${query({ tenant })}`, { signal }),
  /** Attempts per action per minute; with `tenant`, that tenant's only. */
  activity: (minutes: number, signal?: AbortSignal, tenant?: string) =>
    call<Activity>(`activity${query({ minutes, tenant })}`, { signal }),
  pause: (name: string) => call<ActionState>(`actions/${encodeURIComponent(name)}/pause`, { body: {} }),
  resume: (name: string) => call<ActionState>(`actions/${encodeURIComponent(name)}/resume`, { body: {} }),
  deliveries: (filters: Record<string, string | undefined>, signal?: AbortSignal) =>
    call<Deliveries>(`deliveries${query(filters)}`, { signal }),
  /** One event; `tenant` says whose, when several tenants may have the id. */
  event: (id: string, tenant: string | undefined, signal?: AbortSignal) =>
    call<EventView>(`events/${encodeURIComponent(id)}${query({ tenant })}`, { signal }),
  deadLetters: (filters: Record<string, string | undefined>, signal?: AbortSignal) =>
    call<DeadLetters>(`dead-letters${query(filters)}`, { signal }),
  replay: (selection: Selection) => call<Bulk>("dead-letters/replay", { body: selection }),
  purge: (selection: Selection) => call<Bulk>("dead-letters/purge", { body: selection }),
};

let tenants: Promise<string[]> | undefined;

/** The configured tenants' names, asked once (from /api/status): they change only when the host restarts. */
export function tenantNames(): Promise<string[]> {
  if (!tenants) {
    const asked = api.status().then((status) => status.tenants.map((t) => t.tenant));
    // A failed answer (the token not given yet, the host starting) is asked again next time.
    asked.catch(() => {
      if (tenants === asked) tenants = undefined;
    });
    tenants = asked;
  }
  return tenants;
}

/** A thrown value as one line for people. */
export const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
