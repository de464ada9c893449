#!/usr/bin/env bash
# Optional CI step: MSAL Python and the Defender how-to's Python sample against the sandbox over
# HTTPS. Usage: tests/msal/run.sh path/to/consentry
# When python3 or the msal package cannot be installed, it says so and exits 0 (skipped); when
# MSAL cannot get a token from the sandbox, it exits 1.
set -euo pipefail
binary=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
sandbox_pid=""
cleanup() {
    if [[ -n "$sandbox_pid" ]]; then kill -INT "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v python3 >/dev/null; then
    echo "msal check skipped: no python3"; exit 0
fi
if ! python3 -m venv "$work/venv" >/dev/null 2>&1 \
    || ! "$work/venv/bin/pip" install --quiet --disable-pip-version-check msal >/dev/null 2>&1; then
    echo "msal check skipped: cannot install msal from PyPI"; exit 0
fi

export CONSENTRY_CLIENT_SECRET="msal-check-$RANDOM-$RANDOM"
"$binary" sandbox --scenario "$root/manifests/demo.sandbox.yaml" --tls --tls-ca-out "$work/ca.pem" \
    >"$work/url" 2>"$work/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$work/url" ]] && break
    sleep 0.1
done
if [[ ! -s "$work/url" ]]; then
    echo "FAIL: the sandbox did not start"; cat "$work/sandbox.log"; exit 1
fi
REQUESTS_CA_BUNDLE="$work/ca.pem" SSL_CERT_FILE="$work/ca.pem" \
    "$work/venv/bin/python" "$here/check.py" "$(head -n1 "$work/url")"
