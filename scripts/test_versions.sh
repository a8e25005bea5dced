#!/usr/bin/env bash
# The whole test suite on the oldest PyTorch that requirements.txt admits, on the GPU machines' one and
# on the newest Python, each in a fresh virtual environment (a few GB of downloads each):
#
#     bash scripts/test_versions.sh [DATA_DIR]      # DATA_DIR: the MNIST files, else $MNIST_DIR
#
# The interpreters are python3.10, python3.12 and python3.13 on the PATH, or $PYTHON310, $PYTHON312
# and $PYTHON313.
# Exits 1 if any suite failed; each suite's output goes to the terminal.
set -uo pipefail
cd "$(dirname "$0")/.."
export MNIST_DIR="${1:-${MNIST_DIR:-}}"
status=0
for versions in "${PYTHON310:-python3.10} 2.3.0 0.18.0" "${PYTHON312:-python3.12} 2.11.0 0.26.0" \
    "${PYTHON313:-python3.13} 2.14.1 0.29.1"; do
    read -r python torch torchvision <<<"$versions"
    echo "== $python, torch $torch, torchvision $torchvision"
    folder="$(mktemp -d)"
    if "$python" -m venv "$folder/venv" \
        && "$folder/venv/bin/pip" install -q "torch==$torch" "torchvision==$torchvision" -r requirements-dev.txt; then
        "$folder/venv/bin/python" -m pytest -q -p no:cacheprovider || status=1
    else
        echo "could not make the environment"; status=1
    fi
    rm -rf "$folder"
done
exit $status
