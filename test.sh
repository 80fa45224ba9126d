#!/usr/bin/env bash
# Runs every test meshobs has, installing what they need. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

# The external programs the tests run: Graphviz (renderer tests), Chromium
# (browser tests), Prometheus, and Jaeger + HotROD, telemetrygen and our
# collector built from the modules under tools/ into the user cache dir, once
# (cold: ~10 minutes on 2 cores; later runs reuse the binaries). It exports
# MESHOBS_*_BIN and MESHOBS_CHROMIUM for the tests; under CI (env CI set) a
# test whose tool is missing fails rather than skips.
echo "== tools"
. tools/build.sh

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 30m ./...

# The soak runs above at a tenth of its size (race detector); here in full,
# checking that RSS stays flat.
echo "== soak"
go test -count=1 -run '^TestSoak$' -v ./cmd/meshobs

# Each fuzz target for a short burst, one at a time (the regular run above
# replays their corpora under testdata/fuzz). New inputs are minimized for
# a few runs only: full minimization can take longer than the burst.
# On a loaded machine the Go fuzzing coordinator can hit its own deadline
# while stopping its workers and report "context deadline exceeded" though
# no input failed (no "Failing input written to" line): that burst counts as
# done, with a warning; any failing input still fails the run.
fuzz() {
	echo "== fuzz $1 ($2)"
	local out
	if out=$(go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-20s}" -fuzzminimizetime 10x "$2" 2>&1); then
		echo "$out" | tail -n 3
		return 0
	fi
	if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
		grep '^fuzz: elapsed' <<<"$out" | tail -n 1
		echo "== fuzz $1: the fuzzing engine stopped at its deadline with no failing input; counted as done"
		return 0
	fi
	echo "$out"
	return 1
}
fuzz FuzzDecodeLine ./node
fuzz FuzzFastDecode ./node
fuzz FuzzLineReader ./node
fuzz FuzzNode ./node
fuzz FuzzHTTPHandler ./receiver
fuzz FuzzBodyParse ./accesslog
fuzz FuzzUnmarshal ./otlptrace
fuzz FuzzAttributeCodec ./exporters
