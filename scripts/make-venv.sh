#!/usr/bin/env bash
# Make the project's virtual environment with the machine's own Python.
# Usage: make-venv.sh PYTHON DIR
set -euo pipefail
python=${1:-python3}
dir=${2:-.venv}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; then
    echo "tapewatch needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1)." >&2
    echo "Point make at another interpreter: make PYTHON=python3.11 ..." >&2
    exit 1
fi
if "$python" -m venv "$dir" 2> /dev/null; then
    exit 0
fi
rm -rf "$dir"
# Debian and Ubuntu ship venv's pip bootstrap in a package of its own
version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    echo "installing python${version}-venv (venv cannot bootstrap pip without it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "python${version}-venv" > /dev/null 2>&1 \
        || { apt-get update -q > /dev/null && apt-get install -y -q "python${version}-venv" > /dev/null; }
    "$python" -m venv "$dir"
    exit 0
fi
echo "'$python -m venv' failed: on Debian or Ubuntu, install python${version}-venv" >&2
echo "(sudo apt-get install python${version}-venv), then run make again." >&2
exit 1
