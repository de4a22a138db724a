import type { Auth0Event } from "./events.js";

// An action's `filter:` selects events by their content. The language is small on purpose: field paths into
// the CloudEvent mapped to conditions, and `all` / `any` / `not` to combine them. It is compiled once, when
// the config loads, into closures: testing an event walks only the paths the filter names.

/** A value a condition compares with. */
export type FilterScalar = string | number | boolean | null;

/** The conditions on one field; several in one object must all hold. */
export interface FilterConditions {
  eq?: FilterScalar;
  ne?: FilterScalar;
  in?: readonly FilterScalar[];
  /** `true`: the field is present and not null; `false`: it is absent or null. */
  exists?: boolean;
  startsWith?: string;
  endsWith?: string;
  /** A substring of a string field, or an element of an array field. */
  contains?: FilterScalar;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * `{ "data.object.email": { endsWith: "@acme.com" }, a0purpose: { exists: false } }`: field paths (dotted)
 * mapped to conditions or to a bare value (= `eq`), and `all`, `any`, `not`. Several keys must all hold.
 */
export interface EventFilter {
  all?: readonly EventFilter[];
  any?: readonly EventFilter[];
  not?: EventFilter;
  [path: string]: FilterScalar | FilterConditions | EventFilter | readonly EventFilter[] | undefined;
}

/** A problem in a filter: `path` leads from the filter's root to the offending key or operand. */
export interface FilterIssue {
  path: Array<string | number>;
  message: string;
}

/** A compiled filter: `test` is the fast predicate; `explain` says why an event fails it (undefined: it passes). */
export interface CompiledFilter {
  test(event: Auth0Event): boolean;
  explain(event: Auth0Event): string | undefined;
}

const OPERATORS = [
  "eq",
  "ne",
  "in",
  "exists",
  "startsWith",
  "endsWith",
  "contains",
  "gt",
  "gte",
  "lt",
  "lte",
] as const;
type Operator = (typeof OPERATORS)[number];
const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);
const COMBINATORS: ReadonlySet<string> = new Set(["all", "any", "not"]);

/** Every problem of `filter`, each with its path inside the filter; empty when it is valid. */
export function validateFilter(filter: unknown): FilterIssue[] {
  const issues: FilterIssue[] = [];
  checkFilter(filter, [], issues);
  return issues;
}

/** Compile a filter into a fast predicate. Throws a TypeError naming the first problem of an invalid filter. */
export function compileFilter(filter: EventFilter): CompiledFilter {
  const issues = validateFilter(filter);
  const first = issues[0];
  if (first) {
    const at = first.path.length ? `${first.path.map(String).join(" > ")}: ` : "";
    throw new TypeError(`invalid filter: ${at}${first.message}`);
  }
  const node = compileNode(filter);
  return { test: node.test, explain: (event) => (node.test(event) ? undefined : node.why(event)) };
}

// ---- validation ----

function checkFilter(value: unknown, at: Array<string | number>, issues: FilterIssue[]): void {
  if (!isPlainObject(value)) {
    issues.push({ path: at, message: "a filter must be an object of field paths and conditions" });
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) issues.push({ path: at, message: "a filter must not be empty" });
  for (const key of keys) {
    const item = value[key];
    const here = [...at, key];
    if (key === "all" || key === "any") {
      if (!Array.isArray(item) || item.length === 0) {
        issues.push({ path: here, message: `\`${key}\` takes a non-empty list of filters` });
        continue;
      }
      item.forEach((sub, index) => {
        checkFilter(sub, [...here, index], issues);
      });
    } else if (key === "not") {
      checkFilter(item, here, issues);
    } else {
      const pathProblem = fieldPathError(key);
      if (pathProblem) issues.push({ path: here, message: pathProblem });
      checkCondition(item, here, issues);
    }
  }
}

function checkCondition(value: unknown, at: Array<string | number>, issues: FilterIssue[]): void {
  if (isScalar(value)) return;
  if (Array.isArray(value)) {
    issues.push({ path: at, message: "a list is not a value to compare with: use { in: [...] }" });
    return;
  }
  if (!isPlainObject(value)) {
    issues.push({ path: at, message: "expected a value or an object of conditions" });
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) issues.push({ path: at, message: "expected at least one condition" });
  for (const key of keys) {
    const operand = value[key];
    const here = [...at, key];
    if (!OPERATOR_SET.has(key)) {
      issues.push({
        path: here,
        message: `unknown operator "${key}" (use ${OPERATORS.join(", ")})${COMBINATORS.has(key) ? `; \`${key}\` combines filters at the filter's level` : ""}`,
      });
      continue;
    }
    const problem = operandError(key as Operator, operand);
    if (problem) issues.push({ path: here, message: problem });
  }
}

function operandError(operator: Operator, operand: unknown): string | undefined {
  switch (operator) {
    case "eq":
    case "ne":
    case "contains":
      return isScalar(operand) ? undefined : `\`${operator}\` takes a string, number, boolean or null`;
    case "in":
      return Array.isArray(operand) && operand.every(isScalar)
        ? undefined
        : "`in` takes a list of strings, numbers, booleans or nulls";
    case "exists":
      return typeof operand === "boolean" ? undefined : "`exists` takes true or false";
    case "startsWith":
    case "endsWith":
      return typeof operand === "string" ? undefined : `\`${operator}\` takes a string`;
    default:
      return typeof operand === "number" && Number.isFinite(operand)
        ? undefined
        : `\`${operator}\` takes a number`;
  }
}

/** Why `path` is not a valid field path (`data.object.email`), or undefined. */
export function fieldPathError(path: string): string | undefined {
  if (path.trim() === "") return "a field path cannot be empty";
  if (path.split(".").some((segment) => segment === "" || segment.trim() !== segment)) {
    return `"${path}" is not a valid field path: use dot-separated names like data.object.email`;
  }
  return undefined;
}

// ---- compilation ----

interface Node {
  test(event: Auth0Event): boolean;
  /** Why the event fails; only called when `test` returned false. */
  why(event: Auth0Event): string;
}

function compileNode(filter: EventFilter): Node {
  const parts: Node[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === "all") parts.push(allOf((value as EventFilter[]).map(compileNode)));
    else if (key === "any") parts.push(anyOf((value as EventFilter[]).map(compileNode)));
    else if (key === "not") parts.push(notOf(compileNode(value as EventFilter)));
    else parts.push(...compileField(key, value as FilterScalar | FilterConditions));
  }
  return allOf(parts);
}

function allOf(parts: Node[]): Node {
  if (parts.length === 1) return parts[0] as Node;
  return {
    test: (event) => {
      for (const part of parts) if (!part.test(event)) return false;
      return true;
    },
    why: (event) => (parts.find((part) => !part.test(event)) as Node).why(event),
  };
}

function anyOf(parts: Node[]): Node {
  return {
    test: (event) => {
      for (const part of parts) if (part.test(event)) return true;
      return false;
    },
    why: (event) => `none of: ${parts.map((part) => part.why(event)).join("; ")}`,
  };
}

function notOf(inner: Node): Node {
  return { test: (event) => !inner.test(event), why: () => `matches a \`not\` filter` };
}

function compileField(path: string, condition: FilterScalar | FilterConditions): Node[] {
  const read = reader(path);
  const conditions: FilterConditions = isScalar(condition) ? { eq: condition } : condition;
  return Object.entries(conditions).map(([operator, operand]) => {
    const check = predicate(operator as Operator, operand);
    const expected = describe(operator as Operator, operand);
    return {
      test: (event) => check(read(event)),
      why: (event) => {
        const value = read(event);
        return `${path} ${value === undefined ? "is absent" : `is ${show(value)}`}, expected ${expected}`;
      },
    };
  });
}

function predicate(operator: Operator, operand: unknown): (value: unknown) => boolean {
  switch (operator) {
    case "eq":
      return (value) => value === operand;
    case "ne":
      return (value) => value !== operand;
    case "in": {
      const set = new Set(operand as FilterScalar[]);
      return (value) => set.has(value as FilterScalar);
    }
    case "exists":
      return operand ? (value) => value !== undefined && value !== null : (value) => value == null;
    case "startsWith":
      return (value) => typeof value === "string" && value.startsWith(operand as string);
    case "endsWith":
      return (value) => typeof value === "string" && value.endsWith(operand as string);
    case "contains":
      return (value) =>
        typeof value === "string"
          ? typeof operand === "string" && value.includes(operand)
          : Array.isArray(value) && value.includes(operand);
    case "gt":
      return (value) => typeof value === "number" && value > (operand as number);
    case "gte":
      return (value) => typeof value === "number" && value >= (operand as number);
    case "lt":
      return (value) => typeof value === "number" && value < (operand as number);
    case "lte":
      return (value) => typeof value === "number" && value <= (operand as number);
  }
}

const WORDS: Record<Operator, string> = {
  eq: "",
  ne: "not ",
  in: "one of ",
  exists: "",
  startsWith: "to start with ",
  endsWith: "to end with ",
  contains: "to contain ",
  gt: "> ",
  gte: ">= ",
  lt: "< ",
  lte: "<= ",
};

function describe(operator: Operator, operand: unknown): string {
  if (operator === "exists") return operand ? "present" : "absent";
  return `${WORDS[operator]}${show(operand)}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A reader of one dotted path; own properties only, so `__proto__` or `constructor` read nothing. */
function reader(path: string): (event: Auth0Event) => unknown {
  const segments = path.split(".");
  return (event) => {
    let node: unknown = event;
    for (const segment of segments) {
      if (typeof node !== "object" || node === null || !Object.hasOwn(node, segment)) return undefined;
      node = (node as Record<string, unknown>)[segment];
    }
    return node;
  };
}

function isScalar(value: unknown): value is FilterScalar {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
