#!/usr/bin/env bash
# The API's web dependencies (api/web/package.json, exact versions) from the
# npm registry into api/web/node_modules (ignored by git; every build folder
# of the tree shares it): Swagger UI and Redoc, which tickd
# api serves itself at /docs and /redoc (no CDN), and @redocly/cli, which
# the tests use to lint the OpenAPI document.  No package-lock.json is kept
# (it would name the registry); the versions in package.json are exact.
# Skipped when what is installed is what package.json names.
# usage: web-deps.sh SOURCE_DIR
set -euo pipefail
W=$1/api/web
if ! command -v npm > /dev/null; then
  echo "web-deps: npm is missing: apt-get install -y nodejs npm (Node.js 20.19 or later for @redocly/cli)" >&2
  exit 1
fi
if [ -f "$W/node_modules/.installed" ] && cmp -s "$W/package.json" "$W/node_modules/.installed"; then
  exit 0
fi
echo "web-deps: npm install (api/web/package.json) into $W" >&2
# Redoc's standalone bundle needs none of its peers (React, MobX): not installed.
(cd "$W" && npm install --no-package-lock --no-audit --no-fund --legacy-peer-deps --loglevel=error > /dev/null)
for f in swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css redoc/bundles/redoc.standalone.js .bin/redocly; do
  [ -e "$W/node_modules/$f" ] || { echo "web-deps: $f is missing after npm install" >&2; exit 1; }
done
cp "$W/package.json" "$W/node_modules/.installed"
