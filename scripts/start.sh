#!/usr/bin/env bash
# Installs dependencies when they are missing, compiles, and starts the service. The service applies
# pending migrations (creating the database if needed) before it listens on $PORT (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.build.json
exec node --enable-source-maps dist/src/main.js
