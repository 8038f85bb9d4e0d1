#!/usr/bin/env bash
# The test command: set-up, type check, jest (unit and integration against the local PostgreSQL
# and Redis, each test file in its own schema and queue prefix), and the Python grpcio suite against
# a started service. Ends with one "N passed, N failed" line over both runners.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
mkdir -p build

status=0
npx tsc --noEmit -p tsconfig.json || status=1

npx jest --json --outputFile=build/jest-results.json "$@"
jest_status=$?
[ $jest_status -eq 0 ] || status=1

python_log=build/python-results.log
test/python/run.sh 2>&1 | tee "$python_log"
python_status=${PIPESTATUS[0]}
[ "$python_status" -eq 0 ] || status=1

node -e '
const fs = require("fs");
let passed = 0, failed = 0;
try {
  const jest = JSON.parse(fs.readFileSync("build/jest-results.json", "utf8"));
  passed += jest.numPassedTests; failed += jest.numFailedTests;
} catch { failed += 1; }
const log = fs.existsSync(process.argv[1]) ? fs.readFileSync(process.argv[1], "utf8") : "";
let ran = 0, bad = 0;
for (const m of log.matchAll(/^Ran (\d+) tests?/gm)) ran += Number(m[1]);
for (const m of log.matchAll(/^FAILED \(([^)]*)\)/gm)) for (const n of m[1].matchAll(/(?:failures|errors)=(\d+)/g)) bad += Number(n[1]);
if (ran === 0) bad += 1;
passed += ran - Math.min(ran, bad); failed += bad;
console.log(`tests: ${passed} passed, ${failed} failed`);
' "$python_log"
exit $status
