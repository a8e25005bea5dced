"""torchrun data-parallel training (2 CPU processes, gloo) matches one process with the same
global batch, and its checkpoint evaluates."""

import os
import subprocess
import sys

import torch

from conftest import ROOT, run_script
from lstm_mnist import checkpoint as ckpt


def test_two_processes_match_one(synthetic_dir, tmp_path):
    # Batch 15 splits 8 + 7: uneven shards must still give the global mean. Augmentation on.
    args = ["--device", "cpu", "--hidden-size", "16", "--batch-size", "15", "--epochs", "2", "--limit-train", "90",
            "--seed", "3", "--augment", "--data-dir", str(synthetic_dir)]
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    parallel = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                               str(ROOT / "train.py"), *args, "--out", str(tmp_path / "ddp.pt")],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert parallel.returncode == 0, parallel.stderr[-3000:]
    assert "2 processes (torchrun)" in parallel.stdout
    assert parallel.stdout.count("test accuracy:") == 1  # rank 0 alone prints
    single = run_script("train.py", *args, "--out", str(tmp_path / "single.pt"), cwd=tmp_path)
    assert single.returncode == 0, single.stderr

    a, b = ckpt.load(tmp_path / "ddp.pt"), ckpt.load(tmp_path / "single.pt")
    for name in a["model"]:
        torch.testing.assert_close(a["model"][name], b["model"][name], rtol=1e-5, atol=1e-6, msg=name)
    for record_a, record_b in zip(a["metrics"], b["metrics"]):
        assert record_a["event"] == record_b["event"]
        for key in ("train_loss", "train_accuracy", "val_accuracy", "accuracy", "running_loss"):
            if key in record_a:
                assert abs(record_a[key] - record_b[key]) < 1e-5, key
    assert [m["event"] for m in a["metrics"]] == ["log", "epoch", "log", "epoch", "test"]  # 6 steps an epoch
    assert (tmp_path / "ddp.metrics.jsonl").read_text().count("\n") == 5
    assert (tmp_path / "ddp.training.png").exists()  # drawn by rank 0

    evaluated = run_script("evaluate.py", str(tmp_path / "ddp.pt"), "--json", "--device", "cpu",
                           "--data-dir", str(synthetic_dir))
    assert evaluated.returncode == 0, evaluated.stderr
