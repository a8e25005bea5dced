"""The promise of the README, on the real MNIST (skipped unless MNIST_DIR is set; CI sets it):
``python train.py`` with its defaults on a CPU reaches at least 98% test accuracy, and
``evaluate.py`` reproduces the figure from the checkpoint."""

import json

from conftest import run_script
from lstm_mnist import checkpoint as ckpt


def test_default_training_run_reaches_98_percent(mnist_dir, tmp_path):
    out = tmp_path / "checkpoint.pt"
    result = run_script("train.py", "--device", "cpu", "--data-dir", str(mnist_dir), "--out", str(out),
                        cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr
    print(result.stdout)  # shown with pytest -s: the run's own log
    assert "data: 55000 training, 5000 validation, 10000 test images" in result.stdout
    metrics = [json.loads(line) for line in ckpt.metrics_path(out).read_text().splitlines()]
    epochs, test = [m for m in metrics if m["event"] == "epoch"], metrics[-1]
    assert [m["epoch"] for m in epochs] == [1, 2, 3]
    assert test["event"] == "test" and test["n"] == 10000
    assert test["accuracy"] >= 0.98, f"test accuracy {test['accuracy']:.4f} < 0.98"

    evaluated = run_script("evaluate.py", str(out), "--json", "--device", "cpu", "--data-dir", str(mnist_dir),
                           cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == test["accuracy"]
