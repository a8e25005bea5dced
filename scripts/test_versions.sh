#!/usr/bin/env bash
# The whole test suite on the oldest PyTorch that requirements.txt admits, on the PyTorch and Python
# of the GPU machines this project borrows (torch 2.11.0, Python 3.12) and on Python 3.13, each in a
# fresh virtual environment (a few GB of downloads each, not kept in pip's cache):
#
#     bash scripts/test_versions.sh DATA_DIR      # DATA_DIR: the MNIST IDX files (or set MNIST_DIR)
#
# The interpreters are python3.10, python3.12 and python3.13 on the PATH, or $PYTHON310, $PYTHON312
# and $PYTHON313. Exits 1 if any suite failed; each suite's output goes to the terminal.
set -uo pipefail
DATA_DIR="${1:-${MNIST_DIR:-}}"
if [ -z "$DATA_DIR" ] || [ ! -d "$DATA_DIR" ]; then
    echo "usage: scripts/test_versions.sh DATA_DIR (a folder with the MNIST IDX files; or set MNIST_DIR)" >&2
    exit 2
fi
MNIST_DIR="$(realpath -m -- "$DATA_DIR")"  # before the cd below: a relative path means the caller's folder
export MNIST_DIR
cd "$(dirname "$0")/.." || exit 1
folder=""
trap 'rm -rf "$folder"' EXIT  # a stopped run leaves no environment behind
trap 'exit 130' INT TERM
status=0
for versions in "${PYTHON310:-python3.10} 2.3.0 0.18.0" "${PYTHON312:-python3.12} 2.11.0 0.26.0" \
    "${PYTHON313:-python3.13} 2.14.1 0.29.1"; do
    read -r python torch torchvision <<<"$versions"
    echo "== $python, torch $torch, torchvision $torchvision"
    folder="$(mktemp -d)"
    if "$python" -m venv "$folder/venv" && "$folder/venv/bin/pip" install -q --no-cache-dir \
        "torch==$torch" "torchvision==$torchvision" -r requirements-dev.txt; then
        "$folder/venv/bin/python" -m pytest -q -p no:cacheprovider || status=1
    else
        echo "could not make the environment"; status=1
    fi
    rm -rf "$folder"
done
exit $status
