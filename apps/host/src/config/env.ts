/** `${VAR}` or `${VAR:-default}`; `$${…}` stays literal. */
const WHOLE = /^\$(\$?)\{[^}]*\}$/;
const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationProblem {
  path: Array<string | number>;
  variable: string;
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
  out: { problems: InterpolationProblem[]; fromEnv: Map<string, string> } = {
    problems: [],
    fromEnv: new Map(),
  },
): { value: unknown; problems: InterpolationProblem[]; fromEnv: Map<string, string> } {
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
      // `port: ${PORT}` should be a number, as `port: 9464` would be.
      if (whole && !whole[1]) {
        if (/^-?\d+(\.\d+)?$/.test(replaced)) return Number(replaced);
        if (replaced === "true" || replaced === "false") return replaced === "true";
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
