#!/usr/bin/env bash
# Creates the virtualenv .venv-moto in the repository with moto[server] for the CloudWatch and S3
# tests, unless it holds that version already. Prints nothing on standard output.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$repo/.venv-moto"
moto_version="5.2.5"

python="${PYTHON:-python3}"
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(0 if moto.__version__ == '$moto_version' else 1)" 2>/dev/null; then
    echo "creating $venv with moto[server]==$moto_version" >&2
    "$python" -m venv "$venv" >&2
    # --no-compile: byte-compiling every module of moto and its dependencies takes half the
    # install's CPU, which CI spends while cargo builds; Python compiles the modules the server
    # imports when it first starts.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-compile \
        "moto[server]==$moto_version" >&2
fi
