import type { SwitchyardConfig } from "./schema.js";
import { SECRET_NAME as SECRET_KEY, urlSecrets } from "./url-secrets.js";

/** Shorter values are not taken as secrets: replacing every "ab" in every log line would say nothing safe. */
export const MIN_SECRET_LENGTH = 4;

/**
 * Every value in the config that must never be printed: values of secret-sounding environment variables
 * (`*_TOKEN`, `*_SECRET`, `*_KEY`, …), each action's `secrets`, and option values whose key sounds secret
 * (token, writeKey, clientSecret, authorization headers, …).
 */
export function collectSecrets(
  config: SwitchyardConfig,
  fromEnv: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const found = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH) found.add(value);
  };
  for (const [value, variable] of fromEnv) if (SECRET_KEY.test(variable)) add(value);
  // Optional chaining: run-action collects the secrets of a config that has only actions.
  add(config.server?.adminToken);
  for (const entry of config.server?.adminTokens ?? []) add(entry.token);
  const walk = (node: unknown, secretKey: boolean) => {
    if (typeof node === "string") {
      if (secretKey) add(node);
      // A URL's password, or a token in its query string, is as secret as a field named `token`.
      else for (const secret of urlSecrets(node)) add(secret);
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, secretKey);
    } else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) walk(value, secretKey || SECRET_KEY.test(key));
    }
  };
  const sources = [config.source, ...(config.sources ?? [])];
  for (const source of sources) {
    add(source?.auth0?.token);
    add(source?.auth0?.clientSecret);
    add(source?.webhook?.auth.bearer);
    add(source?.webhook?.auth.basic?.password);
    add(source?.webhook?.auth.header?.value);
    walk(source, false);
  }
  for (const secret of urlSecrets(config.state ?? "")) add(secret);
  // Trace exports: every header value (an API key under any name), and a key in the endpoint's URL.
  for (const value of Object.values(config.telemetry?.otlp?.headers ?? {})) add(value);
  for (const secret of urlSecrets(config.telemetry?.otlp?.endpoint ?? "")) add(secret);
  for (const value of otlpHeaderValues(env)) add(value);
  for (const action of config.actions) {
    for (const value of Object.values(action.secrets)) add(value);
    walk(action.with, false);
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** The values of `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`k=v,k2=v2`, URL-encoded). */
function otlpHeaderValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const values: string[] = [];
  for (const list of [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS]) {
    for (const pair of list?.split(",") ?? []) {
      const at = pair.indexOf("=");
      if (at < 0) continue;
      const raw = pair.slice(at + 1).trim();
      values.push(raw);
      try {
        values.push(decodeURIComponent(raw));
      } catch {
        // Not URL-encoded: the raw value is the secret.
      }
    }
  }
  return values;
}

/**
 * Replace every secret in `text` with `[redacted]`, also where it stands escaped: inside JSON (a `"` or a
 * backslash in a secret is written with a backslash before it there) or percent-encoded in a URL.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  if (forms.size === 0) return (text) => text;
  // Longest first, so that a form containing another is replaced whole.
  const alternatives = [...forms].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(
    alternatives.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    "g",
  );
  return (text) => text.replace(pattern, "[redacted]");
}

/** A copy of the config with every secret value replaced, for printing. */
export function redactConfig<T>(value: T, redact: (text: string) => string): T {
  const walk = (node: unknown, key = ""): unknown => {
    if (typeof node === "string") return SECRET_KEY.test(key) && node ? "[redacted]" : redact(node);
    if (Array.isArray(node)) return node.map((item) => walk(item, key));
    if (node && typeof node === "object") {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
    }
    return node;
  };
  return walk(value) as T;
}
