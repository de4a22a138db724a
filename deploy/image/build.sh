#!/bin/sh
# The image's build steps (deploy/Dockerfile runs exactly this), kept here so that CI runs them outside Docker
# too (deploy/image/check.sh): `build.sh <repository> <out>` builds and packs every public package of the
# repository, then installs the host from those tarballs into <out> with npm, production dependencies only,
# as a user installing from the registry would get it. <out>/node_modules/.bin/switchyard is the CLI.
set -eu
src=$(cd "$1" && pwd)
out=$2
tarballs=$(mktemp -d)
trap 'rm -rf "$tarballs"' EXIT

cd "$src"
pnpm install --frozen-lockfile
pnpm exec turbo run build --output-logs=errors-only --filter='./packages/*' --filter='./plugins/*' --filter='./apps/*'
for dir in packages/* plugins/* apps/*; do
  [ -f "$dir/package.json" ] || continue
  if node -e 'process.exit(require(process.argv[1]).private ? 0 : 1)' "$src/$dir/package.json"; then continue; fi
  (cd "$dir" && pnpm pack --pack-destination "$tarballs" >/dev/null)
done

# npm takes every @switchyard/* package from the tarballs, never from the registry (an override of a direct
# dependency must repeat its spec, hence the host's own line).
mkdir -p "$out"
node - "$tarballs" "$out/package.json" <<'JS'
const { readdirSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const [tarballs, manifest] = process.argv.slice(2);
const packed = Object.fromEntries(
  readdirSync(tarballs).map((file) => [`@switchyard/${/^switchyard-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(file)[1]}`, `file:${join(tarballs, file)}`]),
);
const spec = packed["@switchyard/host"];
if (!spec) throw new Error("no @switchyard/host tarball was packed");
writeFileSync(
  manifest,
  JSON.stringify({ name: "switchyard-image", private: true, dependencies: { "@switchyard/host": spec }, overrides: packed }, null, 2),
);
JS
cd "$out"
npm install --omit=dev --no-audit --no-fund --loglevel=error
./node_modules/.bin/switchyard --version
