#!/usr/bin/env bash
# Runs the Python tests (test_contract.py, test_replay.py) against a freshly started service.
#
# Compiles with tsc only when dist/ is missing or older than src/, gen/es/ or the tsconfig files.
# Starts node dist/src/main.js on 127.0.0.1 with a free port, its own PostgreSQL schema in
# coordinator_jobs_test and its own BullMQ key prefix. On exit it stops the service with SIGTERM,
# drops the schema and deletes the prefix's Redis keys, and exits with the tests' status.
#
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth), Redis at 127.0.0.1:6379, psql,
# redis-cli, node and /usr/bin/python3 with python3-grpcio and python3-protobuf.
# GITEA_CASES_DIR overrides the folder of recorded Gitea deliveries.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python=/usr/bin/python3
database_url="postgresql://postgres@127.0.0.1:5432/coordinator_jobs_test"
run_id="py_$$_$(date +%s)"
schema="$run_id"
queue_prefix="$run_id"
api_key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work_dir="$(mktemp -d)"
log="$work_dir/service.log"
service_pid=""

cleanup() {
  local status=$?
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid"
    # The service drains in-flight calls for up to SHUTDOWN_GRACE_MS (set to 5000 below).
    for _ in $(seq 1 100); do
      kill -0 "$service_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$service_pid" 2>/dev/null; then
      echo "run.sh: the service (pid $service_pid) did not stop within 10 s of SIGTERM; sending SIGKILL" >&2
      kill -KILL "$service_pid" 2>/dev/null || true
    fi
    wait "$service_pid" 2>/dev/null || true
  fi
  if ! psql -h 127.0.0.1 -U postgres -d coordinator_jobs_test -q -v ON_ERROR_STOP=1 \
    -c "drop schema if exists \"$schema\" cascade" >/dev/null 2>"$work_dir/psql.err"; then
    echo "run.sh: failed to drop schema $schema: $(cat "$work_dir/psql.err")" >&2
  fi
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$queue_prefix:*" \
    | xargs -r redis-cli -h 127.0.0.1 -p 6379 unlink >/dev/null \
    || echo "run.sh: failed to delete the Redis keys under $queue_prefix:" >&2
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$root"

# tsc rewrites every output file, so dist/src/main.js carries the time of the last build.
if [ ! -f dist/src/main.js ] \
  || [ -n "$(find src gen/es tsconfig.json tsconfig.build.json -newer dist/src/main.js -print -quit)" ]; then
  echo "run.sh: dist/ is missing or stale; compiling with tsc"
  npx tsc -p tsconfig.build.json
fi

# LOG_LEVEL=info so that the "listening" line with the bound port reaches the log file.
HOST=127.0.0.1 PORT=0 LOG_LEVEL=info NODE_ENV=test \
  DATABASE_URL="$database_url" DATABASE_SCHEMA="$schema" QUEUE_PREFIX="$queue_prefix" \
  COORDINATOR_API_KEYS="coordinator:$api_key" SHUTDOWN_GRACE_MS=5000 \
  node dist/src/main.js >"$log" 2>&1 &
service_pid=$!

# Waits until the log names the port and GetHealth responds on it, then prints the port.
wait_for_service() {
  "$python" - "$log" "$service_pid" <<'EOF'
import json
import os
import sys
import time

import grpc

from coordinator.v1 import coordinator_jobs_service_pb2, coordinator_jobs_service_pb2_grpc

log_path, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
port = None
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the service exited before it answered GetHealth")
    if port is None:
        with open(log_path, encoding="utf-8") as log:
            for line in log:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("msg") == "coordinator-jobs listening":
                    port = record["port"]
    if port is not None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = coordinator_jobs_service_pb2_grpc.CoordinatorJobsServiceStub(channel)
            try:
                stub.GetHealth(coordinator_jobs_service_pb2.GetHealthRequest(), timeout=2)
                print(port)
                sys.exit(0)
            except grpc.RpcError:
                pass
    time.sleep(0.2)
sys.exit("the service did not answer GetHealth within 60 s")
EOF
}

export PYTHONPATH="$root/gen/python:$root/test/python${PYTHONPATH:+:$PYTHONPATH}"
if ! port="$(wait_for_service)"; then
  echo "run.sh: the service did not start; its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "run.sh: service pid $service_pid on 127.0.0.1:$port, schema $schema"

status=0
COORDINATOR_JOBS_ADDRESS="127.0.0.1:$port" \
  COORDINATOR_JOBS_API_KEY="$api_key" \
  COORDINATOR_JOBS_DATABASE_URL="$database_url" \
  COORDINATOR_JOBS_DATABASE_SCHEMA="$schema" \
  "$python" -m unittest -v test_contract test_replay || status=$?

# Log records at warn (40) and above: rejected keys, failed calls, errors the service caught.
if [ "$status" -ne 0 ]; then
  echo "run.sh: service log records at warn level or above:" >&2
  grep -E '"level":(4|5|6)0' "$log" >&2 || true
fi
exit "$status"
