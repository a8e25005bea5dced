"""scripts/rnn_vs_lstm.py: same budget for every cell, the gradient per row at initialisation
and after training, one figure and one JSON file."""

import json

import pytest
import torch
from PIL import Image

from conftest import run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.data import load_mnist
from lstm_mnist.gradients import gradient_per_row


def test_compare_rnn_and_lstm_on_small_data(synthetic_dir, tmp_path):
    out, kept = tmp_path / "figures", tmp_path / "models"
    result = run_script("scripts/rnn_vs_lstm.py", "--data-dir", str(synthetic_dir), "--cells", "rnn", "lstm",
                        "--epochs", "1", "--hidden-size", "8", "--limit-train", "400", "--gradient-images", "50",
                        "--out", str(out), "--checkpoints", str(kept), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    with Image.open(out / "gradient_per_row.png") as figure:
        assert figure.format == "PNG" and figure.size == (800, 480)
    summary = json.loads((out / "rnn_vs_lstm.json").read_text())
    assert list(summary["results"]) == ["rnn", "lstm"] and summary["config"]["gradient_images"] == 50

    val = load_mnist(synthetic_dir).val
    for cell, r in summary["results"].items():
        # at initialisation: the model train.py --cell CELL --seed 0 starts from
        torch.manual_seed(0)
        fresh = LSTMClassifier(hidden_size=8, cell=cell)
        torch.testing.assert_close(torch.tensor(r["gradient_at_init"], dtype=torch.float64),
                                   gradient_per_row(fresh, val.images[:50], val.labels[:50]).double(), rtol=1e-5, atol=0)
        # after training: the kept model, whose own metrics hold the same test accuracy
        model, checkpoint = ckpt.load_model(kept / f"{cell}.pt")
        assert model.config.cell == cell and checkpoint["metrics"][-1]["accuracy"] == r["test_accuracy"]
        torch.testing.assert_close(torch.tensor(r["gradient_trained"], dtype=torch.float64),
                                   gradient_per_row(model, val.images[:50], val.labels[:50]).double(), rtol=1e-5, atol=0)
        assert r["first_to_last_at_init"] == pytest.approx(r["gradient_at_init"][0] / r["gradient_at_init"][-1], rel=1e-6)
        assert r["weight_hh_largest_singular_value_at_init"] == pytest.approx(
            torch.linalg.svdvals(fresh.cell.weight_hh.double())[0].item(), rel=1e-5)
        assert r["weight_hh_largest_singular_value_trained"] == pytest.approx(
            torch.linalg.svdvals(model.cell.weight_hh.double())[0].item(), rel=1e-5)
    assert "RNN" in result.stdout and "LSTM" in result.stdout and "gradient_per_row.png" in result.stdout


def test_it_never_replaces_files_unless_asked(synthetic_dir, tmp_path):
    """Run as printed, it writes in results/rnn_vs_lstm/, and refuses to replace a file there."""
    out = tmp_path / "results" / "rnn_vs_lstm"
    out.mkdir(parents=True)
    (out / "rnn_vs_lstm.json").write_text("mine")
    result = run_script("scripts/rnn_vs_lstm.py", "--data-dir", str(synthetic_dir), "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 2 and "rnn_vs_lstm.json exists: give --overwrite" in result.stderr
    assert (out / "rnn_vs_lstm.json").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_a_limit_past_the_training_split_is_refused_before_the_first_cell(synthetic_dir, tmp_path, capsys):
    """--limit-train 1000 where the training split holds 400: refused, like --gradient-images, before
    anything is measured or trained (it was refused by train(), after 'LSTM: training for 1 epoch...')."""
    import argparse
    import importlib.util

    from conftest import ROOT
    from lstm_mnist.errors import UsageError, in_flags

    spec = importlib.util.spec_from_file_location("rnn_vs_lstm", ROOT / "scripts" / "rnn_vs_lstm.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = argparse.Namespace(data_dir=synthetic_dir, gradient_images=50, epochs=1, seed=0, limit_train=1000,
                              cells=["lstm", "rnn"], hidden_size=8)
    with pytest.raises(UsageError) as error:
        script.compare(args, torch.device("cpu"), tmp_path)
    assert in_flags(error.value).startswith("--limit-train 1000: the training split has only 400 images")  # as cli.run says it
    assert capsys.readouterr().out == "" and list(tmp_path.iterdir()) == []
