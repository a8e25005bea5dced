"""scripts/forget_bias_sweep.py: the gradient reaching each row at initialisation is that of the
model train.py --seed S --forget-bias B starts from; the memory-only path is a lower share."""

import json

import pytest
import torch

from conftest import run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist.data import load_mnist
from lstm_mnist.gradients import gradient_per_row


def test_the_sweep_measures_the_models_train_py_starts_from(synthetic_dir, tmp_path):
    out = tmp_path / "sweep"
    args = ["--data-dir", str(synthetic_dir), "--seeds", "0", "1", "--forget-biases", "0", "2",
            "--hidden-size", "8", "--gradient-images", "40", "--out", str(out)]
    result = run_script("scripts/forget_bias_sweep.py", *args, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "forget_bias_sweep.json").read_text())
    assert list(summary["results"]) == ["LSTM, forget_bias 0", "LSTM, forget_bias 2", "GRU (no forget bias)"]
    val = load_mnist(synthetic_dir).val
    for name, fields in [("LSTM, forget_bias 0", {"forget_bias": 0.0}), ("LSTM, forget_bias 2", {"forget_bias": 2.0}),
                         ("GRU (no forget bias)", {"cell": "gru"})]:
        for run in summary["results"][name]:
            torch.manual_seed(run["seed"])
            expected = gradient_per_row(LSTMClassifier(hidden_size=8, **fields), val.images[:40], val.labels[:40])
            assert run["first_to_last"] == pytest.approx((expected[0] / expected[-1]).item(), rel=1e-5)
            if "mean_f" in run:  # cutting the path through h leaves less to row 0
                assert 0 < run["first_to_last_along_c_only"] < run["first_to_last"]
    assert "| LSTM, forget_bias 2 |" in result.stdout and (out / "forget_bias_sweep.png").exists()
    again = run_script("scripts/forget_bias_sweep.py", *args)
    assert again.returncode == 2 and "forget_bias_sweep.png exists: give --overwrite" in again.stderr


def test_the_table_says_seed_for_one_seed_and_seeds_for_several():
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("forget_bias_sweep", ROOT / "scripts" / "forget_bias_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    run = {"seed": 0, "first_to_last": 1e-2, "mean_f": 0.7, "mean_f_to_the_27": 1e-4, "first_to_last_along_c_only": 1e-3}
    for seeds, words in (([0], "row 0 ÷ row 27, seed 0 |"), ([0, 1, 2], "row 0 ÷ row 27, seeds 0, 1, 2 |")):
        summary = {"config": {"seeds": seeds, "gradient_images": 1}, "results": {"LSTM": [run] * len(seeds)}}
        assert words in sweep.table(summary).splitlines()[0]
