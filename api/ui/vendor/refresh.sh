#!/bin/sh
# Refresh the vendored dagre browser build from the npm registry.
# Usage: api/ui/vendor/refresh.sh [VERSION]   (default: the version in VERSION)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-$(sed -n 's/^version: //p' "$here/VERSION")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@dagrejs/dagre@$version" >/dev/null)
tar -xzf "$tmp"/dagrejs-dagre-"$version".tgz -C "$tmp"
build="$tmp/package/dist/dagre.min.js"
if [ ! -f "$build" ] || ! grep -q 'var dagre=' "$build"; then
	echo "refresh.sh: @dagrejs/dagre@$version has no browser build (dist/dagre.min.js defining the global dagre)" >&2
	exit 1
fi
cp "$build" "$here/dagre.min.js"
cp "$tmp/package/LICENSE" "$here/LICENSE"
{
	echo "package: @dagrejs/dagre"
	echo "version: $version"
	echo "file: dist/dagre.min.js"
	echo "sha256: $(sha256sum "$here/dagre.min.js" | cut -d' ' -f1)"
} >"$here/VERSION"
echo "refresh.sh: vendored @dagrejs/dagre $version"
