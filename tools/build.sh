#!/usr/bin/env bash
# Builds and installs the external programs that meshobs's end-to-end tests
# run, once: the Go tools from the modules beside this script into the user
# cache directory, keyed by tool and version, and the Debian packages through
# apt-get. Later runs find them there and build nothing.
#
#   bash tools/build.sh          build/install what is missing, print the exports
#   bash tools/build.sh --paths  print the tools' paths only (no build, no install)
#   . tools/build.sh             (test.sh does this) the same, and export
#                                MESHOBS_{JAEGER,HOTROD,TELEMETRYGEN,OTELCOL,PROMETHEUS}_BIN
#                                and MESHOBS_CHROMIUM into the calling shell
#
# A MESHOBS_*_BIN already set is kept, and that tool not built. A tool that
# cannot be built or installed is reported and left out; its tests then
# skip, or fail under CI (env CI set). e2e/tooltest finds the same paths
# (tooltest.CachePath) when the variables are not set.
#
# Cold builds on 2 busy cores (fresh Go build cache, modules downloaded):
# jaeger+hotrod ~9 min, otelcol ~4 min, telemetrygen ~2 min; see the report
# printed at the end of each run.

# Functions only, so that sourcing this file changes nothing but the exports.
_meshobs_tools_main() {
	local here root
	here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	root="$(dirname "$here")"

	local goos goarch cache
	goos="$(go env GOOS)" goarch="$(go env GOARCH)"
	# os.UserCacheDir's rule (tooltest.CachePath), with <repo>/.cache when
	# there is neither XDG_CACHE_HOME nor HOME.
	cache="${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}"
	cache="${cache:-$root/.cache}/meshobs"

	local jaeger_ver tg_ver otelcol_ver otelcol_hash
	jaeger_ver="$(_meshobs_required "$here/jaeger/go.mod" github.com/jaegertracing/jaeger)"
	tg_ver="$(_meshobs_required "$here/telemetrygen/go.mod" github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen)"
	otelcol_ver="$(_meshobs_required "$here/otelcol/go.mod" go.opentelemetry.io/collector/otelcol)"
	# tooltest.SourceHash: go.mod, go.sum, then *.go in byte order.
	otelcol_hash="$(cd "$here/otelcol" && cat go.mod go.sum $(LC_ALL=C ls *.go) | sha256sum | cut -c1-12)"

	local jaeger_dir="$cache/jaeger-$jaeger_ver-$goos-$goarch"
	local tg_dir="$cache/telemetrygen-$tg_ver-$goos-$goarch"
	local otelcol_dir="$cache/otelcol-$otelcol_ver-$otelcol_hash-$goos-$goarch"

	if [ "${1:-}" = "--paths" ]; then
		echo "jaeger=$jaeger_dir/jaeger"
		echo "hotrod=$jaeger_dir/hotrod"
		echo "telemetrygen=$tg_dir/telemetrygen"
		echo "otelcol=$otelcol_dir/otelcol"
		return 0
	fi

	local t0=$SECONDS report=""
	_meshobs_apt
	report+="  debian packages: $(( SECONDS - t0 ))s"$'\n'

	# Two builds at a time at most (2 cores): Jaeger, the longest, in the
	# background; otelcol then telemetrygen in the foreground.
	local logdir
	logdir="$(mktemp -d "${TMPDIR:-/tmp}/meshobs-tools.XXXXXX")"
	local jpid="" jstart=$SECONDS
	if [ -n "${MESHOBS_JAEGER_BIN:-}" ] && [ -n "${MESHOBS_HOTROD_BIN:-}" ]; then
		report+="  jaeger+hotrod: given by MESHOBS_JAEGER_BIN and MESHOBS_HOTROD_BIN"$'\n'
	elif [ -x "$jaeger_dir/jaeger" ] && [ -x "$jaeger_dir/hotrod" ]; then
		report+="  jaeger+hotrod $jaeger_ver: cached"$'\n'
	else
		echo "== building jaeger + hotrod $jaeger_ver in the background (cold: ~10 min)"
		_meshobs_build "$here/jaeger" "$jaeger_dir" "$logdir/jaeger.log" \
			github.com/jaegertracing/jaeger/cmd/jaeger github.com/jaegertracing/jaeger/examples/hotrod &
		jpid=$!
	fi

	local s=$SECONDS
	if [ -n "${MESHOBS_OTELCOL_BIN:-}" ]; then
		report+="  otelcol: given by MESHOBS_OTELCOL_BIN"$'\n'
	elif [ -x "$otelcol_dir/otelcol" ]; then
		report+="  otelcol $otelcol_ver-$otelcol_hash: cached"$'\n'
	else
		echo "== building otelcol $otelcol_ver-$otelcol_hash"
		if _meshobs_build "$here/otelcol" "$otelcol_dir" "$logdir/otelcol.log" .; then
			report+="  otelcol $otelcol_ver-$otelcol_hash: built in $(( SECONDS - s ))s"$'\n'
		else
			report+="  otelcol $otelcol_ver-$otelcol_hash: BUILD FAILED after $(( SECONDS - s ))s"$'\n'
		fi
	fi

	s=$SECONDS
	if [ -n "${MESHOBS_TELEMETRYGEN_BIN:-}" ]; then
		report+="  telemetrygen: given by MESHOBS_TELEMETRYGEN_BIN"$'\n'
	elif [ -x "$tg_dir/telemetrygen" ]; then
		report+="  telemetrygen $tg_ver: cached"$'\n'
	else
		echo "== building telemetrygen $tg_ver"
		if _meshobs_build "$here/telemetrygen" "$tg_dir" "$logdir/telemetrygen.log" \
			github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen; then
			report+="  telemetrygen $tg_ver: built in $(( SECONDS - s ))s"$'\n'
		else
			report+="  telemetrygen $tg_ver: BUILD FAILED after $(( SECONDS - s ))s"$'\n'
		fi
	fi

	if [ -n "$jpid" ]; then
		if wait "$jpid"; then
			report+="  jaeger+hotrod $jaeger_ver: built in $(( SECONDS - jstart ))s (in parallel)"$'\n'
		else
			report+="  jaeger+hotrod $jaeger_ver: BUILD FAILED after $(( SECONDS - jstart ))s"$'\n'
		fi
	fi
	rm -rf "$logdir"

	# A variable set before (to a binary built elsewhere) is kept.
	export MESHOBS_JAEGER_BIN="${MESHOBS_JAEGER_BIN:-$jaeger_dir/jaeger}"
	export MESHOBS_HOTROD_BIN="${MESHOBS_HOTROD_BIN:-$jaeger_dir/hotrod}"
	export MESHOBS_TELEMETRYGEN_BIN="${MESHOBS_TELEMETRYGEN_BIN:-$tg_dir/telemetrygen}"
	export MESHOBS_OTELCOL_BIN="${MESHOBS_OTELCOL_BIN:-$otelcol_dir/otelcol}"
	local v
	for v in MESHOBS_JAEGER_BIN MESHOBS_HOTROD_BIN MESHOBS_TELEMETRYGEN_BIN MESHOBS_OTELCOL_BIN; do
		[ -x "${!v}" ] || unset "$v"
	done
	if [ -z "${MESHOBS_CHROMIUM:-}" ] && [ -x /usr/bin/chromium ]; then export MESHOBS_CHROMIUM=/usr/bin/chromium; fi
	if [ -z "${MESHOBS_PROMETHEUS_BIN:-}" ] && command -v prometheus >/dev/null 2>&1; then
		MESHOBS_PROMETHEUS_BIN="$(command -v prometheus)"
		export MESHOBS_PROMETHEUS_BIN
	fi

	echo "== tools ready in $(( SECONDS - t0 ))s"
	printf '%s' "$report"
	for v in MESHOBS_JAEGER_BIN MESHOBS_HOTROD_BIN MESHOBS_TELEMETRYGEN_BIN MESHOBS_OTELCOL_BIN MESHOBS_PROMETHEUS_BIN MESHOBS_CHROMIUM; do
		if [ -n "${!v:-}" ]; then
			echo "export $v=${!v}"
		else
			echo "# $v: missing (its tests skip, or fail under CI)"
		fi
	done
}

# _meshobs_required GOMOD MODULE prints the version of MODULE that GOMOD requires.
_meshobs_required() {
	awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

# _meshobs_build MODDIR OUTDIR LOG PKG... builds the packages of the module
# in MODDIR into OUTDIR (one binary per main package), atomically: into a
# temporary directory first, then renamed. On failure it prints the log.
_meshobs_build() {
	local mod="$1" out="$2" log="$3"
	shift 3
	local tmp="$out.tmp.$$"
	rm -rf "$tmp" && mkdir -p "$tmp"
	# -s -w: no symbol table or DWARF, a shorter link; GOWORK=off: the
	# module alone decides the versions.
	if (cd "$mod" && GOWORK=off GOFLAGS=-mod=readonly go build -buildvcs=false -ldflags='-s -w' -o "$tmp/" "$@") >"$log" 2>&1; then
		mkdir -p "$out"
		local f
		for f in "$tmp"/*; do mv -f "$f" "$out/"; done
		rm -rf "$tmp"
		return 0
	fi
	echo "== build in $mod FAILED:" >&2
	tail -n 40 "$log" >&2
	rm -rf "$tmp"
	return 1
}

# _meshobs_apt installs the Debian packages the tests use, when missing and
# installable (root and apt-get): graphviz (dot), chromium, prometheus. One
# apt-get update for all of them.
_meshobs_apt() {
	local missing=()
	command -v dot >/dev/null 2>&1 || missing+=(graphviz)
	[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
	command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
	[ "${#missing[@]}" -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "== missing ${missing[*]}, not installable here (needs root and apt-get): their tests will skip, or fail under CI" >&2
		return 0
	fi
	echo "== installing ${missing[*]}"
	# The prometheus package would start a daemon on :9090 where services can
	# start; a policy-rc.d that denies it (unless the image has its own)
	# keeps it down for the install.
	local policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	fi
	local ok=0
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || ok=$?
	[ -z "$policy" ] || rm -f "$policy"
	if [ "$ok" -ne 0 ]; then
		echo "== apt-get install ${missing[*]} failed (exit $ok): their tests will skip, or fail under CI" >&2
	fi
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	_meshobs_tools_main "$@"
else
	_meshobs_tools_main "$@"
fi
