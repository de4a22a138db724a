#!/bin/sh
# CI's stand-in for `docker build` where no Docker daemon runs: copy what the Dockerfile's `COPY . .` would
# (the repository's tracked files) into an empty folder, run the image's build steps there
# (deploy/image/build.sh), then check the result as the image runs it: its CLI, and the image's config.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
# Tracked files only, as a clean checkout (the build context) has them: no node_modules, dist or state.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$work/src"
grep -q 'RUN sh deploy/image/build.sh /src /opt/switchyard' "$repo/deploy/Dockerfile" \
  || { echo "deploy/Dockerfile no longer runs deploy/image/build.sh" >&2; exit 1; }
sh "$work/src/deploy/image/build.sh" "$work/src" "$work/opt/switchyard"
export PATH="$work/opt/switchyard/node_modules/.bin:$PATH"
# The image's config validates with the variables the docs name, for SQLite and for Postgres state.
AUTH0_DOMAIN=example.us.auth0.com AUTH0_CLIENT_ID=id AUTH0_CLIENT_SECRET=secret-value \
  SWITCHYARD_ADMIN_TOKEN=0123456789abcdef0123 AUDIT_LOG_URL=https://example.com/audit SWITCHYARD_STATE="$work/state" \
  switchyard validate --config "$work/src/deploy/switchyard.yaml"
echo "image build steps: ok"
