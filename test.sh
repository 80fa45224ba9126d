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

# The Jaeger e2e test needs a real Jaeger v1.76.0, built from the Go module
# proxy through the tools module (a cold build takes ~10 minutes; the Go build
# cache makes later runs fast). Build it once here so no test waits on it.
echo "== build jaeger (tools module)"
cache_root="${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}"
cache_root="${cache_root:-$PWD/.cache}"
jaeger_bin="${MESHOBS_JAEGER_BIN:-$cache_root/meshobs/jaeger-v1.76.0-$(go env GOOS)-$(go env GOARCH)/jaeger}"
if [ ! -x "$jaeger_bin" ]; then
  mkdir -p "$(dirname "$jaeger_bin")"
  (cd tools && go build -o "$jaeger_bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$jaeger_bin.tmp" "$jaeger_bin"
fi
export MESHOBS_JAEGER_BIN="$jaeger_bin"

echo "== go test -race"
go test -race -count=1 -timeout 30m ./...

# The soak runs above at a tenth of its size (race detector); here in full,
# checking that RSS stays flat.
echo "== soak"
go test -count=1 -run '^TestSoak$' -v ./cmd/meshobs

# Each fuzz target for a short burst, one at a time (the regular run above
# replays their corpora under testdata/fuzz). New inputs are minimized for
# a few runs only: full minimization can take longer than the burst.
fuzz() {
	echo "== fuzz $1 ($2)"
	go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-20s}" -fuzzminimizetime 10x "$2"
}
fuzz FuzzDecodeLine ./node
fuzz FuzzLineReader ./node
fuzz FuzzNode ./node
