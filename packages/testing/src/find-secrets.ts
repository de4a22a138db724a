/**
 * Paths (like `error.cause.message`) under `value` whose strings contain one of `secrets`. Walks errors (message,
 * stack, cause, own fields), arrays and plain objects, bounded in depth and size, cycle-safe.
 */
export function findSecrets(value: unknown, secrets: readonly string[]): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  let budget = 10_000;
  const visit = (node: unknown, path: string, depth: number): void => {
    if (budget-- <= 0) return;
    if (typeof node === "string") {
      if (secrets.some((secret) => node.includes(secret))) found.push(path);
      return;
    }
    if (typeof node !== "object" || node === null || depth > 8 || seen.has(node)) return;
    if (ArrayBuffer.isView(node)) return;
    seen.add(node);
    if (node instanceof Error) {
      visit(node.message, `${path}.message`, depth + 1);
      visit(node.stack, `${path}.stack`, depth + 1);
      visit(node.cause, `${path}.cause`, depth + 1);
    }
    if (node instanceof Map) {
      for (const [key, item] of node) visit(item, `${path}[${String(key)}]`, depth + 1);
      return;
    }
    for (const [key, item] of Object.entries(node)) {
      if (secrets.some((secret) => key.includes(secret))) found.push(`${path} (a key)`);
      visit(item, `${path}.${key}`, depth + 1);
    }
  };
  visit(value, "outcome", 0);
  return found;
}
