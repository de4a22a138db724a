import { fieldPathError } from "./filter.js";

// An action's `redact:` removes fields from the event before the action sees it. Paths are the filter's dotted
// field paths (`data.object.email`), where a segment of digits also indexes an array (`identities.0`, or
// `identities[0]`) and `*` matches any key or index at its level (`data.object.identities.*.access_token`).
// All of an action's paths are compiled into one tree and applied in one walk, copying only the objects and
// arrays on the way to a removed field: the event other actions see is never changed, and an event none of
// the paths touch comes back as the same object.

/** The top-level attributes every CloudEvent needs: removing one would leave no event to deliver. */
const ENVELOPE = new Set(["specversion", "id", "source", "type", "time", "data"]);

/** A redaction path's segments: `a.b[0][*]` is `a`, `b`, `0`, `*`. */
export function redactPathSegments(path: string): string[] {
  return path.replace(/\[([^\]]*)\]/g, ".$1").split(".");
}

/** Why `path` is not a valid redaction path (`data.object.email`, `data.object.identities.*.access_token`), or undefined. */
export function redactPathError(path: string): string | undefined {
  if (typeof path !== "string") return "a redaction path must be a string";
  const dotted = path.replace(/\[([^\]]*)\]/g, ".$1");
  const problem = fieldPathError(dotted);
  if (problem) {
    return `"${path}" is not a valid redaction path: use dot-separated names like data.object.email, digits for array indexes (data.object.identities.0) and * for any key or index`;
  }
  const segments = dotted.split(".");
  if (segments[0] === "*") return `"${path}" would remove the whole event: start with a field, e.g. data.*`;
  if (segments.length === 1 && ENVELOPE.has(segments[0]!)) {
    return `"${path}" is an attribute every event needs and cannot be removed: name a field inside data, e.g. data.object.email`;
  }
  return undefined;
}

interface PathNode {
  /** The value at this node is removed. */
  remove: boolean;
  children: Map<string, PathNode>;
}

/**
 * A function returning `value` without the fields at `paths` (checked with `redactPathError` first). It never
 * changes its argument: what it removes, it removes from copies of the objects and arrays on the path, and it
 * returns the argument itself when no path matched. Removed array elements are taken out (the later ones
 * move up), all of one array's at once, so that `a.0` and `a.1` remove the first two.
 */
export function compileRedaction(paths: readonly string[]): <T>(value: T) => T {
  for (const path of paths) {
    const problem = redactPathError(path);
    if (problem) throw new TypeError(`invalid redaction path: ${problem}`);
  }
  const root: PathNode = { remove: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of redactPathSegments(path)) {
      let child = node.children.get(segment);
      if (!child) {
        child = { remove: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.remove = true;
  }
  return <T>(value: T): T => walk(value, root) as T;
}

const INDEX = /^(0|[1-9]\d*)$/;

function walk(value: unknown, node: PathNode): unknown {
  if (typeof value !== "object" || value === null) return value;
  return Array.isArray(value) ? walkArray(value, node) : walkObject(value as Record<string, unknown>, node);
}

function walkArray(value: readonly unknown[], node: PathNode): unknown[] {
  let out: unknown[] | undefined;
  let drop: Set<number> | undefined;
  for (const [segment, child] of node.children) {
    const indexes =
      segment === "*"
        ? [...value.keys()]
        : INDEX.test(segment) && Number(segment) < value.length
          ? [Number(segment)]
          : [];
    for (const index of indexes) {
      if (child.remove) {
        drop ??= new Set();
        drop.add(index);
        continue;
      }
      const before = (out ?? value)[index];
      const after = walk(before, child);
      if (after !== before) {
        out ??= value.slice();
        out[index] = after;
      }
    }
  }
  if (drop) return (out ?? value).filter((_, index) => !drop.has(index));
  return out ?? (value as unknown[]);
}

function walkObject(value: Record<string, unknown>, node: PathNode): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [segment, child] of node.children) {
    // Own properties only, as the filter reads them: `__proto__` or `constructor` name nothing inherited.
    const keys = segment === "*" ? Object.keys(out ?? value) : Object.hasOwn(value, segment) ? [segment] : [];
    for (const key of keys) {
      const current = out ?? value;
      if (!Object.hasOwn(current, key)) continue;
      if (child.remove) {
        out ??= { ...value };
        delete out[key];
        continue;
      }
      const before = current[key];
      const after = walk(before, child);
      if (after !== before) {
        out ??= { ...value };
        out[key] = after;
      }
    }
  }
  return out ?? value;
}
