/** `${VAR}` or `${VAR:-default}`; `$${…}` stays literal. */
const WHOLE = /^\$(\$?)\{[^}]*\}$/;
const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationProblem {
  path: Array<string | number>;
  variable: string;
}

/** A whole-field placeholder whose value was read as a number or a boolean, and the text it came from. */
export interface Coercion {
  path: Array<string | number>;
  text: string;
}

/**
 * Replace `${VAR}` and `${VAR:-default}` in every string of a parsed config. Returns the new value, the unset
 * variables with the path of the field that uses them, and the values that came from the environment with
 * the variable that held them (so secret-looking variables can be redacted).
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: Array<string | number> = [],
  out: { problems: InterpolationProblem[]; fromEnv: Map<string, string>; coerced: Coercion[] } = {
    problems: [],
    fromEnv: new Map(),
    coerced: [],
  },
): {
  value: unknown;
  problems: InterpolationProblem[];
  fromEnv: Map<string, string>;
  coerced: Coercion[];
} {
  const walk = (node: unknown, at: Array<string | number>): unknown => {
    if (typeof node === "string") {
      const whole = WHOLE.exec(node);
      const replaced = node.replace(
        PLACEHOLDER,
        (match, escaped: string, name: string, fallback: string | undefined) => {
          if (escaped) return match.slice(1);
          const set = env[name];
          if (set !== undefined && set !== "") {
            out.fromEnv.set(set, name);
            return set;
          }
          if (fallback !== undefined) return fallback;
          out.problems.push({ path: at, variable: name });
          return "";
        },
      );
      // `port: ${PORT}` should be a number, as `port: 9464` would be; where a string is wanted after all
      // (`clientSecret: ${SECRET}` holding 12345), `restoreStrings` puts the text back.
      if (whole && !whole[1]) {
        let typed: number | boolean | undefined;
        if (/^-?\d+(\.\d+)?$/.test(replaced)) typed = Number(replaced);
        else if (replaced === "true" || replaced === "false") typed = replaced === "true";
        if (typed !== undefined) {
          out.coerced.push({ path: at, text: replaced });
          return typed;
        }
      }
      return replaced;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...at, index]));
    if (node && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...at, key])]));
    }
    return node;
  };
  return { value: walk(value, path), ...out };
}

/** A schema's complaint that a field wants a string and got a number or a boolean (zod's wording). */
export const WANTS_STRING = /expected string, received (number|boolean)/i;

/**
 * Put the substituted text back, in place, where the schema wanted a string (`wantsString(path)`): a value
 * from the environment stays a string in a string field, whatever it looks like. Returns how many it restored.
 */
export function restoreStrings(
  value: unknown,
  coerced: readonly Coercion[],
  wantsString: (path: Array<string | number>) => boolean,
): number {
  let restored = 0;
  for (const { path, text } of coerced) {
    if (path.length === 0 || !wantsString(path)) continue;
    let parent = value as Record<string | number, unknown> | undefined;
    for (const key of path.slice(0, -1))
      parent = parent?.[key] as Record<string | number, unknown> | undefined;
    const last = path[path.length - 1]!;
    if (parent && typeof parent === "object" && typeof parent[last] !== "string") {
      parent[last] = text;
      restored++;
    }
  }
  return restored;
}
