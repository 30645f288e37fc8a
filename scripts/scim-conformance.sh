#!/usr/bin/env bash
# Runs an independent SCIM 2.0 conformance checker (scim2-tester, through scim2-cli, from PyPI)
# against a fresh `registrar serve --demo`, with the SCIM token the demo prints.
# Not run by CI: the first run installs the checker from PyPI into a virtualenv.
#
#   scripts/scim-conformance.sh            # port 18090, venv in /tmp/scim-conformance-venv
#   PORT=9000 SCIM_VENV=~/.venvs/scim scripts/scim-conformance.sh
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-18090}
venv=${SCIM_VENV:-/tmp/scim-conformance-venv}
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)

if [ ! -x "$venv/bin/scim2" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'scim2-cli==0.6.0' 'scim2-tester==0.5.2'
fi

cargo build --quiet -p registrar
"$target/debug/registrar" serve --demo \
    --database-url "sqlite://$work/registrar.db" \
    --bind "127.0.0.1:$port" \
    --mailbox "$work/mailbox.jsonl" >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 120); do
    grep -q 'SCIM token: ' "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 1
done
token=$(sed -n 's/.*SCIM token: //p' "$work/server.log" | tail -n 1)

# The checker reads secret headers from the environment, not from the command line.
export SCIM_CLI_HEADERS="Authorization: Bearer $token"
"$venv/bin/scim2" --url "http://127.0.0.1:$port/scim/v2" test | tee "$work/report.txt" || true

passed=$(grep -c '^SUCCESS' "$work/report.txt" || true)
failed=$(grep -cE '^(ERROR|CRITICAL)' "$work/report.txt" || true)
skipped=$(grep -c '^SKIPPED' "$work/report.txt" || true)
echo
echo "scim2-tester: $passed passed, $failed failed, $skipped skipped"
grep -E '^(ERROR|CRITICAL)' -A1 "$work/report.txt" || true
