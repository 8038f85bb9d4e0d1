#!/usr/bin/env bash
# Regenerates gen/ from proto/: protoc-gen-es (server), ts-proto grpc-js stubs, Python grpcio stubs.
# Needs protoc and grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/vendor-protos.sh
PATH="$PWD/node_modules/.bin:$PATH" buf generate
npm run --silent generate:openapi
