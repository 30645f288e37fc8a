#!/usr/bin/env bash
# Refreshes the RustSec advisory snapshot that `.ci/run` audits the dependencies against.
# Needs a machine that can clone github.com/rustsec/advisory-db (CI cannot).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --depth 1 https://github.com/rustsec/advisory-db "$tmp/db"

tar -czf .ci/advisory-db.tar.gz -C "$tmp/db" crates LICENSE.txt README.md
git -C "$tmp/db" log -1 --format='%H %cs' > .ci/advisory-db.version
