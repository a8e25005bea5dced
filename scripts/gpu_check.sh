#!/usr/bin/env bash
# Everything to verify on a machine with a CUDA GPU, in one command:
#
#     scripts/gpu_check.sh DATA_DIR        # DATA_DIR: the real MNIST (or set MNIST_DIR)
#
# 1. tests/test_cuda.py (CUDA equals the CPU, checkpoints move, every command runs on CUDA,
#    --deterministic repeats) and tests/test_bptt.py, failing if the CUDA tests were skipped;
# 2. the benchmark on CUDA (fast path, readable loop, nn.LSTMCell, cuDNN's nn.LSTM), written to
#    results/bench-cuda.json (scripts/bench_table.py turns it into the README's table);
# 3. a default `python train.py --device cuda` run, timed from process start to exit, with the
#    test accuracy it reached (the target: >= 98% in < 10 s on an H100).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="${1:-${MNIST_DIR:-}}"
if [ -z "$DATA_DIR" ]; then
    echo "usage: scripts/gpu_check.sh DATA_DIR (the MNIST IDX files; or set MNIST_DIR)" >&2
    exit 2
fi
python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "gpu_check.sh: error: no CUDA device")'
python -c 'import torch; print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__)'

echo "== 1. tests on CUDA"
python -m pytest tests/test_cuda.py tests/test_bptt.py -q -rs -p no:cacheprovider | tee /tmp/gpu_check_tests.txt
if grep -q "skipped" /tmp/gpu_check_tests.txt; then echo "gpu_check.sh: error: tests were skipped" >&2; exit 1; fi

echo "== 2. benchmark on CUDA"
python -m lstm_mnist.bench --device cuda --no-compile --json results/bench-cuda.json

echo "== 3. python train.py --device cuda, from process start to exit"
OUT="$(mktemp -d)/run.pt"
START=$(date +%s.%N)
python train.py --device cuda --data-dir "$DATA_DIR" --out "$OUT" --no-figure > /tmp/gpu_check_train.txt
END=$(date +%s.%N)
python - "$OUT" "$START" "$END" <<'PY'
import json, sys
from pathlib import Path
out, start, end = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
test = json.loads(out.with_suffix(".metrics.jsonl").read_text().splitlines()[-1])
print(f"python train.py --device cuda: {end - start:.1f} s wall from process start, "
      f"test accuracy {100 * test['accuracy']:.2f}% (targets: >= 98% in < 10 s on an H100)")
PY
