#!/usr/bin/env bash
# Prints the path of an OpenTofu binary, building it first when the cache does not hold it yet.
# OpenTofu builds offline from the Go module proxy's copy of its source (`go install` refuses it
# because its go.mod has replace directives). The cache lives outside the repository, so `make
# clean` keeps it and CI reuses it between runs.
set -euo pipefail

version=${OPENTOFU_VERSION:-1.10.6}
cache=${MOXXIE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moxxie-tools}
bin="$cache/tofu-$version"

if [ ! -x "$bin" ]; then
  echo "opentofu: building OpenTofu $version into $bin (once; later runs reuse it)" >&2
  mkdir -p "$cache"
  dir=$(go mod download -json "github.com/opentofu/opentofu@v$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -n "$dir" ] || { echo "opentofu: go mod download did not report a source directory" >&2; exit 1; }
  # The module cache is read-only, so build from there into a temporary name and move it in
  # place whole: an interrupted build never leaves a half-written binary that looks cached.
  (cd "$dir" && go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$bin.tmp" ./cmd/tofu)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
