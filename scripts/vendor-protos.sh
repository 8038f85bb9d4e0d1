#!/usr/bin/env bash
# Copies the Google protos the contract imports from the google-proto-files npm package into
# build/third_party, a buf module that is never linted. Nothing is fetched from the network.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/google-proto-files
dest=build/third_party
rm -rf "$dest"
for file in google/api/annotations.proto google/api/http.proto \
  google/rpc/status.proto google/rpc/error_details.proto google/rpc/code.proto; do
  mkdir -p "$dest/$(dirname "$file")"
  cp "$src/$file" "$dest/$file"
done
