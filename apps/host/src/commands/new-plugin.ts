import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@switchyard/core";
import { type Command, InvalidArgumentError } from "commander";
import { parse } from "yaml";
import { VERSION } from "../version.js";

/** The template's files; `_gitignore` becomes `.gitignore` (npm drops `.gitignore` files from packages). */
const TEMPLATE_DIR = fileURLToPath(new URL("../../templates/plugin/", import.meta.url));

/**
 * Published ranges a standalone plugin depends on. Switchyard's own: this host's version, since a release
 * moves every package together (`^0.1.0` would not take 0.2.0: a caret on 0.x stays within the minor).
 */
const VERSIONS = {
  switchyard: `^${VERSION}`,
  undici: "^7.16.0",
  zod: "^4.1.0",
  typescript: "~5.9.3",
  vitest: "^4.0.0",
  typesNode: "^20.19.0",
} as const;

/** Inside the Switchyard workspace (`plugins/<name>`, workspace deps) or a standalone package. */
export type PluginFlavour = "workspace" | "standalone";

export interface ScaffoldOptions {
  /** Short name, e.g. `acme-crm`. */
  name: string;
  /** Target folder (default: `plugins/<name>` in the workspace, else `./switchyard-plugin-<name>`). */
  dir?: string | undefined;
  /** Where relative paths start, and where the workspace is looked for (default: the process's cwd). */
  cwd?: string | undefined;
  /**
   * A folder of packed Switchyard packages (`pnpm pack`'s `switchyard-core-0.1.0.tgz`, …): a standalone
   * plugin then depends on those files instead of the registry (before the packages are published, or to
   * try unreleased changes).
   */
  switchyardFrom?: string | undefined;
}

export interface ScaffoldResult {
  dir: string;
  name: string;
  packageName: string;
  flavour: PluginFlavour;
  /** The workspace root, for a workspace plugin. */
  workspaceRoot: string | undefined;
  /** Paths written, relative to `dir`. */
  files: string[];
}

/** Why `name` cannot name a plugin, or undefined when it can. */
export function pluginNameError(name: string): string | undefined {
  if (/^(@|switchyard-plugin-|plugin-)/.test(name)) {
    return 'give the short name, e.g. "acme-crm": the package name is made from it';
  }
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
    return "use lowercase letters, digits and single hyphens, starting with a letter or digit (e.g. acme-crm)";
  }
  if (name.length > 50) return "use at most 50 characters";
  return undefined;
}

/**
 * The root of the Switchyard workspace holding `from`: the nearest folder with a `pnpm-workspace.yaml` that
 * lists `plugins/*`. Another pnpm workspace (or none) gives undefined.
 */
export function findSwitchyardWorkspace(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, "pnpm-workspace.yaml");
    if (existsSync(file)) {
      const packages = (parse(readFileSync(file, "utf8")) as { packages?: unknown } | null)?.packages;
      return Array.isArray(packages) && packages.includes("plugins/*") ? dir : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** Write a new plugin package from the template; refuses a folder that is not empty. */
export function scaffoldPlugin(options: ScaffoldOptions): ScaffoldResult {
  const { name } = options;
  const error = pluginNameError(name);
  if (error) throw new ConfigError(`[switchyard] invalid plugin name "${name}": ${error}`);
  const cwd = resolve(options.cwd ?? process.cwd());

  let dir: string;
  let root: string | undefined;
  if (options.dir) {
    dir = resolve(cwd, options.dir);
    root = findSwitchyardWorkspace(dirname(dir));
    // Only `<root>/plugins/<folder>` is a workspace package; anywhere else the plugin stands alone.
    if (root && resolve(root, "plugins") !== dirname(dir)) root = undefined;
  } else {
    root = findSwitchyardWorkspace(cwd);
    dir = root ? join(root, "plugins", name) : resolve(cwd, `switchyard-plugin-${name}`);
  }
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new ConfigError(`[switchyard] ${dir} exists and is not a folder`);
    if (readdirSync(dir).length > 0) {
      throw new ConfigError(
        `[switchyard] ${dir} is not empty: refusing to overwrite it (pick another --dir)`,
      );
    }
  }

  const flavour: PluginFlavour = root ? "workspace" : "standalone";
  const packageName = root ? `@switchyard/plugin-${name}` : `switchyard-plugin-${name}`;
  const vars: Record<string, string> = {
    name,
    package: packageName,
    envName: name.toUpperCase().replaceAll("-", "_"),
    pm: root ? "pnpm" : "npm",
  };
  const manifest = packageJson(flavour, name, packageName);
  if (options.switchyardFrom) {
    if (flavour === "workspace") {
      throw new ConfigError(
        "[switchyard] --switchyard-from is for a standalone plugin: a workspace plugin links the workspace's packages",
      );
    }
    useTarballs(manifest, resolve(cwd, options.switchyardFrom), dir);
  }
  const files = new Map<string, string>([["package.json", json(manifest)], ...configFiles(flavour, name)]);
  for (const file of listFiles(TEMPLATE_DIR)) {
    const text = readFileSync(join(TEMPLATE_DIR, file), "utf8");
    const out = file.replace(/(^|\/)_gitignore$/, "$1.gitignore");
    files.set(
      out,
      text.replace(/\{\{(\w+)\}\}/g, (match, key: string) => vars[key] ?? match),
    );
  }
  for (const [file, text] of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return { dir, name, packageName, flavour, workspaceRoot: root, files: [...files.keys()].sort() };
}

/** The manifest's sections that name dependencies. */
interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides?: Record<string, string>;
}

/**
 * Point every `@switchyard/*` dependency at its tarball in `folder`, as `file:` paths relative to the plugin,
 * and override every packed `@switchyard/*` package to its tarball too, so that npm takes the ones they
 * depend on (the host's core, …) from there as well, never from the registry (npm requires an override of a
 * direct dependency to repeat its spec).
 */
function useTarballs(manifest: Manifest, folder: string, dir: string): void {
  const packed = new Map<string, string>();
  for (const file of existsSync(folder) ? readdirSync(folder) : []) {
    const match = /^switchyard-(.+)-\d+\.\d+\.\d+(?:-[\w.]+)?\.tgz$/.exec(file);
    if (match) packed.set(`@switchyard/${match[1]}`, `file:${relative(dir, join(folder, file))}`);
  }
  const wanted = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)].filter(
    (n) => n.startsWith("@switchyard/"),
  );
  const missing = wanted.filter((name) => !packed.has(name));
  if (missing.length > 0) {
    throw new ConfigError(
      `[switchyard] ${folder} has no tarball for ${missing.join(", ")}: in a clone of Switchyard, \`pnpm build\` then \`pnpm -r --filter "./packages/*" --filter "./plugins/*" --filter "./apps/*" exec pnpm pack --pack-destination ${folder}\``,
    );
  }
  for (const section of [manifest.dependencies, manifest.devDependencies]) {
    for (const name of Object.keys(section)) {
      const spec = packed.get(name);
      if (spec) section[name] = spec;
    }
  }
  manifest.overrides = Object.fromEntries([...packed].sort(([a], [b]) => a.localeCompare(b)));
}

function packageJson(
  flavour: PluginFlavour,
  name: string,
  packageName: string,
): Manifest & Record<string, unknown> {
  const inRepo = flavour === "workspace";
  const entry = { types: "./dist/index.d.ts", default: "./dist/index.js" };
  return {
    name: packageName,
    version: "0.1.0",
    description: `Switchyard plugin ${name}: POST Auth0 events to a URL.`,
    keywords: ["switchyard", "switchyard-plugin", "auth0", "event-streams"],
    license: "MIT",
    type: "module",
    engines: { node: ">=20.19" },
    // Inside the workspace, tests and the dev CLI load the TypeScript sources through this condition.
    exports: { ".": inRepo ? { "@switchyard/source": "./src/index.ts", ...entry } : entry },
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    files: ["dist", "README.md"],
    scripts: {
      build: "tsc -p tsconfig.build.json",
      typecheck: "tsc -p tsconfig.json",
      test: "vitest run",
      ...(inRepo ? {} : { prepublishOnly: "npm run build" }),
    },
    dependencies: {
      "@switchyard/core": inRepo ? "workspace:^" : VERSIONS.switchyard,
      undici: VERSIONS.undici,
      zod: VERSIONS.zod,
    },
    devDependencies: inRepo
      ? { "@switchyard/testing": "workspace:^" }
      : {
          // The `switchyard` CLI, for `npx switchyard run-action` in the next steps.
          "@switchyard/host": VERSIONS.switchyard,
          "@switchyard/testing": VERSIONS.switchyard,
          "@types/node": VERSIONS.typesNode,
          typescript: VERSIONS.typescript,
          vitest: VERSIONS.vitest,
        },
    publishConfig: { access: "public" },
  };
}

function configFiles(flavour: PluginFlavour, name: string): Array<[string, string]> {
  const build = {
    compilerOptions: { outDir: "dist", rootDir: "src", noEmit: false },
    include: ["src"],
    exclude: ["src/**/*.test.ts"],
  };
  if (flavour === "workspace") {
    return [
      [
        "tsconfig.json",
        formattedJson({
          extends: "../../tsconfig.base.json",
          compilerOptions: { noEmit: true, allowImportingTsExtensions: true },
          include: ["src", "vitest.config.ts"],
        }),
      ],
      ["tsconfig.build.json", formattedJson({ extends: "../../tsconfig.base.json", ...build })],
      [
        "vitest.config.ts",
        `import { switchyardProject } from "../../vitest.shared.ts";\n\nexport default switchyardProject("plugin-${name}");\n`,
      ],
    ];
  }
  return [
    [
      "tsconfig.json",
      formattedJson({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          strict: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          isolatedModules: true,
          skipLibCheck: true,
          declaration: true,
          sourceMap: true,
          noEmit: true,
        },
        include: ["src", "vitest.config.ts"],
      }),
    ],
    ["tsconfig.build.json", formattedJson({ extends: "./tsconfig.json", ...build })],
    [
      "vitest.config.ts",
      `import { defineConfig } from "vitest/config";\n\nexport default defineConfig({ test: { include: ["src/**/*.test.ts"] } });\n`,
    ],
  ];
}

/** package.json as npm writes it (the formatter keeps package.json arrays expanded). */
function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

const LINE_WIDTH = 110;

/** Other JSON as the workspace's formatter (biome) prints it: members inline when they fit on one line. */
function formattedJson(value: Record<string, unknown>, indent = ""): string {
  const inner = `${indent}  `;
  const members = Object.entries(value).map(([key, member]) => {
    const head = `${inner}${JSON.stringify(key)}: `;
    const line = inline(member);
    if (head.length + line.length + 1 <= LINE_WIDTH || typeof member !== "object" || member === null) {
      return head + line;
    }
    if (Array.isArray(member))
      return `${head}[\n${member.map((item) => `${inner}  ${inline(item)}`).join(",\n")}\n${inner}]`;
    return head + formattedJson(member as Record<string, unknown>, inner);
  });
  const text = `{\n${members.join(",\n")}\n${indent}}`;
  return indent ? text : `${text}\n`;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const members = Object.entries(value).map(([key, member]) => `${JSON.stringify(key)}: ${inline(member)}`);
    return members.length > 0 ? `{ ${members.join(", ")} }` : "{}";
  }
  return JSON.stringify(value);
}

function listFiles(root: string, under = ""): string[] {
  return readdirSync(join(root, under), { withFileTypes: true }).flatMap((entry) => {
    const path = under ? `${under}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(root, path) : [path];
  });
}

/** A URL for `try it`; with nothing listening there the outcome is "retryable", which still shows the plugin runs. */
export const TRY_URL = "http://127.0.0.1:8080/";

/**
 * What to do after scaffolding, for people. Every command runs as printed from `cwd` (the new-plugin test
 * runs them): the try-it step loads `src/index.ts` itself, so it needs no build, and the CLI comes from the
 * workspace root (`pnpm exec`) or the package's own devDependency (`npx`).
 */
export function nextSteps(result: ScaffoldResult, cwd = process.cwd()): string {
  const where = relative(cwd, result.dir) || ".";
  const workspace = result.flavour === "workspace";
  const run = workspace ? "pnpm exec switchyard" : "npx switchyard";
  const lines = [
    `Created ${result.packageName} in ${where} (${workspace ? "a workspace plugin" : "a standalone package"}):`,
    `  ${result.files.join(", ")}`,
    "",
    "Next:",
    ...(workspace
      ? [
          "  pnpm install                    # link it into the workspace",
          `  cd ${where}`,
          "  pnpm test                       # the conformance suite passes as is",
        ]
      : [`  cd ${where}`, "  npm install && npm test         # the conformance suite passes as is"]),
    "  edit src/index.ts (the factory and its options schema) and src/index.test.ts",
    `  try it:  ${run} run-action ./src/index.ts --event user.created --with '{"url":"${TRY_URL}"}'`,
    "           (a receiver of yours at that URL; with none, the outcome is retryable)",
    workspace
      ? `  use it:  pnpm build, then plugin: "${result.packageName}" in switchyard.yaml`
      : `  use it:  npm run build, then npm i ${result.packageName} next to switchyard.yaml and plugin: "${result.packageName}"`,
    workspace ? "  release: pnpm changeset" : "  publish: npm publish",
    workspace
      ? "Guide: docs/writing-plugins.md"
      : "Guide: README.md in the package, and docs/writing-plugins.md in the Switchyard repository",
    "",
  ];
  return lines.join("\n");
}

/** `switchyard new plugin <name> [--dir <folder>]`. */
export function registerNewPlugin(program: Command): void {
  const create = program.command("new").description("create a new package from a template");
  create
    .command("plugin")
    .description("write a new plugin package: a factory, its options schema, a README and a passing test")
    .argument("<name>", "short name, e.g. acme-crm", (value: string) => {
      const error = pluginNameError(value);
      if (error) throw new InvalidArgumentError(error);
      return value;
    })
    .option(
      "-d, --dir <folder>",
      "where to write it (default: plugins/<name> in the Switchyard workspace, else ./switchyard-plugin-<name>)",
    )
    .option(
      "--switchyard-from <folder>",
      "depend on the Switchyard packages packed in this folder (switchyard-core-0.1.0.tgz, …) instead of the registry",
    )
    .action((name: string, options: { dir?: string; switchyardFrom?: string }) => {
      const result = scaffoldPlugin({ name, dir: options.dir, switchyardFrom: options.switchyardFrom });
      process.stdout.write(nextSteps(result));
    });
}
