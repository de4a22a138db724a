import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeServer } from "@switchyard/testing";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../../test/cli.js";
import { VERSION } from "../version.js";
import {
  findSwitchyardWorkspace,
  nextSteps,
  pluginNameError,
  type ScaffoldResult,
  scaffoldPlugin,
  TRY_URL,
} from "./new-plugin.js";

const REPO = findSwitchyardWorkspace(fileURLToPath(new URL(".", import.meta.url)))!;
const temps: string[] = [];

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "switchyard-new-plugin-")));
  temps.push(dir);
  return dir;
}

/** An installed package's folder, from whichever workspace package has it. */
function installed(name: string): string {
  for (const from of ["apps/host", "plugins/http", "packages/testing", "."]) {
    const dir = join(REPO, from, "node_modules", name);
    if (existsSync(dir)) return realpathSync(dir);
  }
  throw new Error(`${name} is not installed in the workspace`);
}

/**
 * What `pnpm install` would give the generated package, without the network: its dependencies linked from
 * this workspace (core and testing as TypeScript sources).
 */
function linkDependencies(root: string): void {
  const links: Record<string, string> = {
    "@switchyard/core": join(REPO, "packages/core"),
    "@switchyard/testing": join(REPO, "packages/testing"),
    zod: installed("zod"),
    undici: installed("undici"),
    vitest: installed("vitest"),
    vite: installed("vite"),
    typescript: installed("typescript"),
    "@types/node": installed("@types/node"),
  };
  for (const [name, target] of Object.entries(links)) {
    const path = join(root, "node_modules", name);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path, "dir");
  }
}

interface Run {
  code: number;
  output: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  // A child vitest must not think it is one of this run's workers.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...env, NO_COLOR: "1" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** Run the generated package's tests in a child vitest; vitest's JSON report gives the counts. */
async function vitest(
  cwd: string,
  extraArgs: string[] = [],
): Promise<{ passed: number; failed: number; run: Run }> {
  const report = join(cwd, "vitest-report.json");
  const result = await run(
    process.execPath,
    [
      join(installed("vitest"), "vitest.mjs"),
      "run",
      "--reporter=json",
      `--outputFile=${report}`,
      ...extraArgs,
    ],
    cwd,
  );
  if (!existsSync(report)) return { passed: 0, failed: -1, run: result };
  const json = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number };
  return { passed: json.numPassedTests, failed: json.numFailedTests, run: result };
}

const tsc = (cwd: string, args: string[] = []) =>
  run(process.execPath, [join(installed("typescript"), "bin/tsc"), "-p", "tsconfig.json", ...args], cwd);

const readJson = (file: string) =>
  JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string>>;

describe("a freshly scaffolded plugin passes its own tests at once", () => {
  it.concurrent("inside the workspace: plugins/<name>, workspace deps, tests + typecheck + lint pass", async () => {
    // A stand-in for the Switchyard workspace: its root files, and node_modules as pnpm would link them.
    const root = tempDir();
    writeFileSync(join(root, "pnpm-workspace.yaml"), "packages:\n  - packages/*\n  - plugins/*\n");
    writeFileSync(join(root, "package.json"), JSON.stringify({ private: true, type: "module" }));
    for (const file of ["vitest.shared.ts", "tsconfig.base.json", "biome.json"]) {
      symlinkSync(join(REPO, file), join(root, file));
    }
    linkDependencies(root);

    const result = scaffoldPlugin({ name: "zz-scaffold", cwd: root });
    expect(result).toMatchObject({
      dir: join(root, "plugins/zz-scaffold"),
      flavour: "workspace",
      packageName: "@switchyard/plugin-zz-scaffold",
      workspaceRoot: root,
    });
    const pkg = readJson(join(result.dir, "package.json"));
    expect(pkg.exports?.["."]).toMatchObject({ "@switchyard/source": "./src/index.ts" });
    expect(pkg.dependencies?.["@switchyard/core"]).toBe("workspace:^");
    expect(pkg.devDependencies?.["@switchyard/testing"]).toBe("workspace:^");

    const biome = join(REPO, "node_modules/.bin/biome");
    const [tests, types, lint] = await Promise.all([
      vitest(result.dir),
      tsc(result.dir),
      run(biome, ["check", "plugins/zz-scaffold"], root),
    ]);
    expect(tests.failed, tests.run.output).toBe(0);
    expect(tests.passed).toBeGreaterThan(30);
    expect(types.code, types.output).toBe(0);
    expect(lint.code, lint.output).toBe(0);
  }, 60_000);

  it.concurrent("standalone: switchyard-plugin-<name>, published ranges, tests + typecheck pass", async () => {
    const root = tempDir();
    linkDependencies(root);
    const result = scaffoldPlugin({ name: "zz-alone", cwd: root });
    expect(result).toMatchObject({
      dir: join(root, "switchyard-plugin-zz-alone"),
      flavour: "standalone",
      packageName: "switchyard-plugin-zz-alone",
    });
    const text = readFileSync(join(result.dir, "package.json"), "utf8");
    expect(text).not.toContain("workspace:");
    expect(text).not.toContain("@switchyard/source");
    const pkg = readJson(join(result.dir, "package.json"));
    expect(pkg.dependencies).toMatchObject({ "@switchyard/core": `^${VERSION}` });
    expect(pkg.devDependencies).toMatchObject({
      "@switchyard/testing": `^${VERSION}`,
      vitest: expect.any(String),
    });
    expect(existsSync(join(result.dir, ".gitignore"))).toBe(true);

    // Published packages would resolve to dist/; here core and testing are linked sources, so the run and
    // the typecheck use the source condition.
    writeFileSync(
      join(root, "vitest.source.config.ts"),
      `import { switchyardProject } from ${JSON.stringify(join(REPO, "vitest.shared.ts"))};\n` +
        `export default switchyardProject("zz-alone");\n`,
    );
    const [tests, types] = await Promise.all([
      vitest(result.dir, ["--config", join(root, "vitest.source.config.ts"), "--root", result.dir]),
      tsc(result.dir, ["--customConditions", "@switchyard/source"]),
    ]);
    expect(tests.failed, tests.run.output).toBe(0);
    expect(tests.passed).toBeGreaterThan(30);
    expect(types.code, types.output).toBe(0);
  }, 60_000);
});

/** The printed step's words, as a shell would split them (the steps quote with single quotes only). */
const shellWords = (line: string) =>
  (line.match(/'[^']*'|\S+/g) ?? []).map((w) => (w.startsWith("'") ? w.slice(1, -1) : w));

/**
 * Follow the printed next steps from `cwd`: `cd` where they say, then the try-it command, its `switchyard`
 * run from this checkout's sources (the launcher itself is checked apart) and its URL pointed at a local
 * receiver. Install and test are what the tests above run, without the network.
 */
async function followSteps(result: ScaffoldResult, cwd: string) {
  const steps = nextSteps(result, cwd);
  const cd = /^ {2}cd (\S+)$/m.exec(steps)?.[1];
  expect(cd, steps).toBeDefined();
  const at = resolve(cwd, cd!);
  expect(at).toBe(result.dir);
  const tryIt = /try it: +(.*)$/m.exec(steps)?.[1] ?? "";
  const launcher = /^(pnpm exec switchyard|npx switchyard) /.exec(tryIt)?.[1];
  expect(launcher, steps).toBeDefined();
  const receiver = await startFakeServer();
  try {
    const args = shellWords(tryIt.slice(launcher!.length + 1)).map((w) =>
      w.replace(TRY_URL, `${receiver.url}/`),
    );
    const run = await runCli(args, {}, at);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("outcome:  delivered");
    expect(receiver.requests).toHaveLength(1);
  } finally {
    await receiver.close();
  }
  return { steps, launcher: launcher! };
}

describe("the printed next steps work as printed", () => {
  it.concurrent("inside the workspace (pnpm exec finds the root's switchyard)", async () => {
    const root = tempDir();
    writeFileSync(join(root, "pnpm-workspace.yaml"), "packages:\n  - packages/*\n  - plugins/*\n");
    writeFileSync(join(root, "package.json"), JSON.stringify({ private: true, type: "module" }));
    linkDependencies(root);
    const result = scaffoldPlugin({ name: "zz-steps", cwd: root });
    const { steps, launcher } = await followSteps(result, root);
    expect(launcher).toBe("pnpm exec switchyard");
    // The repo's root depends on the host, so `pnpm exec switchyard` resolves there from any workspace package.
    expect(readJson(join(REPO, "package.json")).devDependencies?.["@switchyard/host"]).toBe("workspace:*");
    expect(steps).toMatch(/^ {2}pnpm test /m);
    expect(existsSync(join(REPO, "docs/writing-plugins.md"))).toBe(true);
  }, 60_000);

  it.concurrent("outside it (npx finds the package's own switchyard)", async () => {
    const root = tempDir();
    linkDependencies(root);
    const result = scaffoldPlugin({ name: "zz-steps-alone", cwd: root });
    const { steps, launcher } = await followSteps(result, root);
    expect(launcher).toBe("npx switchyard");
    expect(readJson(join(result.dir, "package.json")).devDependencies).toMatchObject({
      "@switchyard/host": `^${VERSION}`,
    });
    expect(steps).toContain("npm install && npm test");
    expect(existsSync(join(result.dir, "README.md"))).toBe(true);
  }, 60_000);
});

describe("scaffoldPlugin", () => {
  it("validates the name", () => {
    for (const good of ["acme-crm", "x", "crm2", "a-b-c"]) expect(pluginNameError(good)).toBeUndefined();
    for (const bad of ["Acme", "acme_crm", "-acme", "acme-", "a--b", "acme crm", "", "a".repeat(51)]) {
      expect(pluginNameError(bad), bad).toBeDefined();
    }
    expect(pluginNameError("@acme/crm")).toMatch(/short name/);
    expect(pluginNameError("switchyard-plugin-crm")).toMatch(/short name/);
    expect(() => scaffoldPlugin({ name: "Bad", cwd: tempDir() })).toThrow(
      '[switchyard] invalid plugin name "Bad": use lowercase letters',
    );
  });

  it("refuses a folder that is not empty, and accepts an empty one", () => {
    const root = tempDir();
    mkdirSync(join(root, "taken"));
    writeFileSync(join(root, "taken", "keep.txt"), "mine");
    expect(() => scaffoldPlugin({ name: "crm", dir: "taken", cwd: root })).toThrow(/is not empty: refusing/);
    expect(readFileSync(join(root, "taken", "keep.txt"), "utf8")).toBe("mine");
    mkdirSync(join(root, "empty"));
    expect(scaffoldPlugin({ name: "crm", dir: "empty", cwd: root }).files).toContain("src/index.ts");
  });

  it("is a workspace plugin only under <workspace>/plugins/", () => {
    const root = tempDir();
    writeFileSync(join(root, "pnpm-workspace.yaml"), "packages:\n  - plugins/*\n");
    expect(scaffoldPlugin({ name: "a", dir: "plugins/custom", cwd: root }).flavour).toBe("workspace");
    expect(scaffoldPlugin({ name: "b", dir: "examples/b", cwd: root }).flavour).toBe("standalone");
    // Another pnpm workspace is not Switchyard's.
    const other = tempDir();
    writeFileSync(join(other, "pnpm-workspace.yaml"), "packages:\n  - packages/*\n");
    expect(findSwitchyardWorkspace(join(other, "deep"))).toBeUndefined();
    expect(findSwitchyardWorkspace(join(REPO, "apps/host/src"))).toBe(REPO);
  });

  it("fills the template's placeholders", () => {
    const result = scaffoldPlugin({ name: "acme-crm", cwd: tempDir() });
    const index = readFileSync(join(result.dir, "src/index.ts"), "utf8");
    const readme = readFileSync(join(result.dir, "README.md"), "utf8");
    expect(index).toContain('name: "acme-crm"');
    expect(readme).toContain("# switchyard-plugin-acme-crm");
    expect(readme).toContain("${ACME_CRM_TOKEN}");
    for (const file of result.files) {
      expect(readFileSync(join(result.dir, file), "utf8"), file).not.toMatch(/\{\{\w+\}\}/);
    }
    // The README's config example is YAML a host reads as written.
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(parse(example).actions[0]).toMatchObject({
      name: "acme-crm",
      plugin: "switchyard-plugin-acme-crm",
    });
  });

  it("depends on packed Switchyard packages with --switchyard-from, before they are published", () => {
    const root = tempDir();
    mkdirSync(join(root, "tarballs"));
    for (const name of ["core-0.1.0", "testing-0.1.0", "host-0.1.0", "auth0-events-0.1.0"]) {
      writeFileSync(join(root, "tarballs", `switchyard-${name}.tgz`), "");
    }
    const result = scaffoldPlugin({ name: "acme-crm", cwd: root, switchyardFrom: "tarballs" });
    const manifest = JSON.parse(readFileSync(join(result.dir, "package.json"), "utf8"));
    expect(manifest.dependencies["@switchyard/core"]).toBe("file:../tarballs/switchyard-core-0.1.0.tgz");
    expect(manifest.devDependencies["@switchyard/testing"]).toBe(
      "file:../tarballs/switchyard-testing-0.1.0.tgz",
    );
    expect(manifest.devDependencies["@switchyard/host"]).toBe("file:../tarballs/switchyard-host-0.1.0.tgz");
    // The packages those depend on come from the tarballs too.
    expect(manifest.overrides["@switchyard/auth0-events"]).toBe(
      "file:../tarballs/switchyard-auth0-events-0.1.0.tgz",
    );
    rmSync(join(root, "tarballs", "switchyard-testing-0.1.0.tgz"));
    expect(() => scaffoldPlugin({ name: "other", cwd: root, switchyardFrom: "tarballs" })).toThrow(
      /has no tarball for @switchyard\/testing: in a clone of Switchyard, `pnpm build` then/,
    );
  });
});

describe("switchyard new plugin (the real CLI)", () => {
  it.concurrent("writes a standalone package and prints the next steps", async () => {
    const root = tempDir();
    const result = await runCli(["new", "plugin", "acme-crm", "--dir", "out/acme"], {}, root);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Created switchyard-plugin-acme-crm in out/acme (a standalone package)");
    expect(result.stdout).toContain("npm install && npm test");
    expect(existsSync(join(root, "out/acme/src/index.test.ts"))).toBe(true);
  }, 20_000);

  it.concurrent("rejects a bad name clearly", async () => {
    const result = await runCli(["new", "plugin", "Acme_CRM"], {}, tempDir());
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Acme_CRM.*use lowercase letters, digits and single hyphens/s);
  }, 20_000);
});
