#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it. Starts every service the tests need
# on 127.0.0.1 and stops them afterwards. Extra arguments go to `cargo test`.
#
# Services: the Mermaid parser the diagram tests run (tests/mermaid, installed with npm ci); the
# report's browser check (tests/report: npm puppeteer-core driving Debian's chromium, run when
# /usr/bin/chromium is installed, as .ci/run does); a moto server (CloudWatch Logs emulator, PyPI
# moto[server], installed into .venv-moto by tests/moto/install.sh) loaded with an EKS-like audit
# log group by tests/moto/load.py; the CloudWatch tests read KTRAIL_TEST_MOTO_PORT and
# KTRAIL_TEST_MOTO_DATA; the S3 tests upload their own trees to the same server
# (AWS_ENDPOINT_URL_S3).
#
# `scripts/test.sh --install-only` installs the services' packages (moto, the npm packages) and
# stops there; `scripts/test.sh --installed ...` then runs the tests without installing them
# again. CI installs them this way while cargo builds.
set -euo pipefail
cd "$(dirname "$0")/.."

install=yes
case "${1:-}" in
--install-only) install=only ;;
--installed)
    install=no
    shift
    ;;
esac
if [ "$install" != no ]; then
    tests/moto/install.sh
    # The Mermaid parser (npm mermaid@11 under Node 20, with jsdom@24), from the committed lock
    # file.
    npm ci --prefix tests/mermaid --no-audit --no-fund --loglevel=error >&2
    # The HTML report in headless Chromium (npm puppeteer-core, which downloads no browser, from
    # the committed lock file; the browser is the system's).
    if [ -x /usr/bin/chromium ]; then
        PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/report --no-audit --no-fund --loglevel=error >&2
    fi
    [ "$install" = yes ] || exit 0
fi

state="$PWD/target/moto"
rm -rf "$state"
mkdir -p "$state"

moto_pid=""
stop_moto() {
    if [ -n "$moto_pid" ] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$moto_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$moto_pid" 2>/dev/null || true
    fi
}
trap stop_moto EXIT
trap 'exit 130' INT TERM

started="$(tests/moto/start.sh "$state")"
moto_pid="$(printf '%s\n' "$started" | sed -n 's/^KTRAIL_TEST_MOTO_PID=//p')"
KTRAIL_TEST_MOTO_PORT="$(printf '%s\n' "$started" | sed -n 's/^KTRAIL_TEST_MOTO_PORT=//p')"
echo "moto listening on 127.0.0.1:$KTRAIL_TEST_MOTO_PORT (pid $moto_pid)" >&2
.venv-moto/bin/python tests/moto/load.py --port "$KTRAIL_TEST_MOTO_PORT" --out "$state/data" >&2

# The emulator's credentials and endpoint, and nothing that could reach a real account.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_ENDPOINT_URL AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="http://127.0.0.1:$KTRAIL_TEST_MOTO_PORT"
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$KTRAIL_TEST_MOTO_PORT"
export KTRAIL_TEST_MOTO_PORT KTRAIL_TEST_MOTO_DATA="$state/data"

export KTRAIL_TEST_MERMAID=1
# Without the browser the report's browser test says it skipped.
if [ -x /usr/bin/chromium ]; then
    export KTRAIL_TEST_BROWSER=1
else
    echo "no /usr/bin/chromium (apt-get install chromium): the report's browser test is skipped" >&2
fi

cargo test --locked "$@"
