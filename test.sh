#!/usr/bin/env bash
# Runs every test meshobs has, installing what they need. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

# The renderer tests feed DOT to the real Graphviz. Installed once, when
# missing; in CI (env CI set) those tests fail rather than skip without it.
if ! command -v dot >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing graphviz"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq graphviz >/dev/null
	else
		echo "== graphviz (dot) missing and not installable here (needs root and apt-get): its tests will skip, or fail under CI" >&2
	fi
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...
