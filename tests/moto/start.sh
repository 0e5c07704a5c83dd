#!/usr/bin/env bash
# Starts a moto server (CloudWatch Logs emulator) on a free port of 127.0.0.1 for the
# CloudWatch tests.
#
# Usage: tests/moto/start.sh [STATE_DIR]
#   Creates the virtualenv .venv-moto with moto[server] when missing (tests/moto/install.sh),
#   starts moto_server in the background, waits until it answers, and prints two lines on stdout:
#     KTRAIL_TEST_MOTO_PORT=<port>
#     KTRAIL_TEST_MOTO_PID=<pid>
#   The server's log goes to STATE_DIR/moto.log (default: target/moto). Stop it with
#   `kill <pid>` (scripts/test.sh does this in a trap).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${1:-$repo/target/moto}"
venv="$repo/.venv-moto"
mkdir -p "$state"

"$repo/tests/moto/install.sh"

# A free port: bind to port 0 and read what the kernel chose.
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
pid=$!

for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "moto_server exited early; its log:" >&2
        cat "$state/moto.log" >&2
        exit 1
    fi
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.build_opener(urllib.request.ProxyHandler({})).open('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        echo "KTRAIL_TEST_MOTO_PORT=$port"
        echo "KTRAIL_TEST_MOTO_PID=$pid"
        exit 0
    fi
    sleep 0.1
done
echo "moto_server did not answer on 127.0.0.1:$port within 20 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
