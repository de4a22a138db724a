import type { SwitchyardConfig } from "./schema.js";

const SECRET_KEY = /token|secret|password|passwd|key|credential|authorization|cookie|signature/i;

/**
 * Every value in the config that must never be printed: values of secret-sounding environment variables
 * (`*_TOKEN`, `*_SECRET`, `*_KEY`, …), each action's `secrets`, and option values whose key sounds secret
 * (token, writeKey, clientSecret, authorization headers, …).
 */
export function collectSecrets(config: SwitchyardConfig, fromEnv: ReadonlyMap<string, string>): string[] {
  const found = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length >= 4) found.add(value);
  };
  for (const [value, variable] of fromEnv) if (SECRET_KEY.test(variable)) add(value);
  add(config.source.auth0?.token);
  add(config.source.auth0?.clientSecret);
  // Optional chaining: run-action collects the secrets of a config that has only actions.
  add(config.server?.adminToken);
  const webhook = config.source.webhook?.auth;
  add(webhook?.bearer);
  add(webhook?.basic?.password);
  add(webhook?.header?.value);
  const walk = (node: unknown, secretKey: boolean) => {
    if (typeof node === "string") {
      if (secretKey) add(node);
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, secretKey);
    } else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) walk(value, secretKey || SECRET_KEY.test(key));
    }
  };
  for (const action of config.actions) {
    for (const value of Object.values(action.secrets)) add(value);
    walk(action.with, false);
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** Replace every secret in `text` with `[redacted]`. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  if (secrets.length === 0) return (text) => text;
  const pattern = new RegExp(secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
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
