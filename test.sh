#!/usr/bin/env bash
# Runs every test meshobs has, installing what they need. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...
