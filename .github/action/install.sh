#!/usr/bin/env bash
# Installs the released consentry binary for this runner into a folder on PATH, after checking it
# against the release's SHA256SUMS. Says `installed=true` on GITHUB_OUTPUT when it did; any failure
# (no release for this ref, no binary for this platform, a checksum mismatch) leaves installed unset
# so the action builds from source instead. A mismatching download is deleted, never run.
set -uo pipefail

say() { echo "consentry action: $*" >&2; }

# The cache key of a source build: the action's own sources (hashFiles() only sees the workspace,
# and the action is checked out outside it).
key=$(cd "${GITHUB_ACTION_PATH:-.}" && { cat Cargo.lock; find src -type f | LC_ALL=C sort | xargs cat; } 2>/dev/null \
  | { sha256sum 2>/dev/null || shasum -a 256; } | awk '{ print $1 }')
echo "source-key=${key}" >> "${GITHUB_OUTPUT:-/dev/null}"

case "${RUNNER_OS:-}-${RUNNER_ARCH:-}" in
  Linux-X64) target=x86_64-unknown-linux-musl ;;
  Linux-ARM64) target=aarch64-unknown-linux-musl ;;
  macOS-X64) target=x86_64-apple-darwin ;;
  macOS-ARM64) target=aarch64-apple-darwin ;;
  Windows-X64) target=x86_64-pc-windows-msvc ;;
  *) say "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; building from source"; exit 0 ;;
esac

# A tag (v0.1.0) names its release; a branch or commit has none, so it is built from source.
case "${ACTION_REF:-}" in
  v[0-9]*) ;;
  *) say "ref '${ACTION_REF:-}' is not a release tag; building from source"; exit 0 ;;
esac

base="${GITHUB_SERVER_URL:-https://github.com}/${ACTION_REPOSITORY}/releases/download/${ACTION_REF}"
archive="consentry-${target}.tar.gz"
work="${RUNNER_TEMP:-/tmp}/consentry-install"
bin="${RUNNER_TEMP:-/tmp}/consentry-bin"
rm -rf "$work" && mkdir -p "$work" "$bin" || exit 0

fetch() { curl --fail --silent --show-error --location --retry 3 --max-time 120 -o "$2" "$1"; }
if ! fetch "$base/$archive" "$work/$archive" || ! fetch "$base/SHA256SUMS" "$work/SHA256SUMS"; then
  say "no release asset $archive at $base; building from source"
  exit 0
fi

expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$work/$archive" | awk '{ print $1 }')
else
  actual=$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')
fi
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
  say "checksum mismatch for $archive (expected '${expected}', got '${actual}'); building from source"
  rm -f "$work/$archive"
  exit 0
fi

tar -xzf "$work/$archive" -C "$bin" || { say "cannot unpack $archive; building from source"; exit 0; }
echo "$bin" >> "$GITHUB_PATH"
echo "installed=true" >> "$GITHUB_OUTPUT"
say "installed consentry ${ACTION_REF} for ${target} (sha256 ${actual})"
