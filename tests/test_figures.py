"""Every figure comes from a documented command, is a PNG of the expected size, and shows
what the model computes: inspect_digit.py, evaluate.py --plots, train.py's training curves."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import figures
from lstm_mnist.data import load_mnist
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.evaluation import logits_of
from lstm_mnist.trace import trace


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size  # (width, height) in pixels


def pixels(inches: tuple[float, float]) -> tuple[int, int]:
    """The size in pixels of a figure of ``inches`` (one of figures.py's sizes) saved at its DPI."""
    return tuple(round(d * figures.DPI) for d in inches)


def test_inspect_a_test_digit_text_and_figure(small_checkpoint, synthetic_dir, tmp_path):
    figure = tmp_path / "seven.png"
    result = run_script("inspect_digit.py", str(small_checkpoint), "--index", "7", "--data-dir", str(synthetic_dir),
                        "--device", "cpu", "--figure", str(figure), "--animation", str(tmp_path / "seven.gif"))
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "seven.gif") as gif:  # one frame per row read
        assert gif.format == "GIF" and gif.n_frames == 28 and gif.size == (672, 224)
    assert (tmp_path / "seven.gif").stat().st_size < 1_000_000
    assert png_size(figure) == (1600, 680)  # 5 x 2 panels: the image, i, f, g, o, c, h, probabilities, f and c lines

    model, _ = ckpt.load_model(small_checkpoint)
    test = load_mnist(synthetic_dir).test
    t = trace(model, test.images[7])
    expected = int(model(test.images[7:8]).argmax())
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"test image 7, label {int(test.labels[7])}; model: lstm, 16 units")
    assert len([line for line in lines if line[:3].strip().isdigit()]) == 28  # one line per row
    row_12 = next(line for line in lines if line.startswith(" 12 "))
    assert row_12[5 + 28 :].split()[:4] == [f"{float(t.steps[k][12].mean()):+.2f}" if k == "g"
                                     else f"{float(t.steps[k][12].mean()):.2f}" for k in "ifgo"]
    assert f"prediction: {expected} (" in result.stdout and f"wrote {figure}" in result.stdout


def test_inspect_your_own_image_and_the_rnn(small_checkpoint, synthetic_dir, tmp_path):
    drawing = np.full((90, 60), 255, dtype=np.uint8)
    drawing[20:70, 25:35] = 0  # a dark "1" on white paper
    Image.fromarray(drawing).save(tmp_path / "one.png")
    result = run_script("inspect_digit.py", str(small_checkpoint), "--image", str(tmp_path / "one.png"),
                        "--device", "cpu", "--row", "14", "--ascii", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and "trace-one.png" in result.stdout
    assert png_size(tmp_path / "trace-one.png") == (1600, 680)

    # a plain RNN has one state: the image, h, the probabilities and h's lines fit on one line of panels
    rnn = LSTMClassifier(hidden_size=16, cell="rnn")
    path = figures.trace_figure(trace(rnn, torch.rand(28, 28)), tmp_path / "rnn.png")
    assert png_size(path) == (1600, 340)


def test_inspect_errors_are_one_line(small_checkpoint, synthetic_dir, tmp_path):
    common = ["--data-dir", str(synthetic_dir), "--device", "cpu", "--no-figure"]
    cases = [
        (["--index", "300"], 2, "--index 300: the test split has images 0 to 299"),
        (["--index", "1", "--row", "28"], 2, "--row 28: an image has rows 0 to 27"),
        (["--image", str(tmp_path / "nope.png")], 1, f"image {tmp_path / 'nope.png'} not found"),  # as a checkpoint
        (["--index", "1", "--image", "x.png"], 2, "not allowed with argument"),
    ]
    for args, status, message in cases:
        result = run_script("inspect_digit.py", str(small_checkpoint), *args, *common, cwd=tmp_path)
        assert result.returncode == status and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 + (status == 2 and "usage" in result.stderr)
    missing = run_script("inspect_digit.py", str(tmp_path / "none.pt"), *common, cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.strip().endswith("not found")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_evaluate_plots_confusion_matrix_and_misclassified(small_checkpoint, synthetic_dir, tmp_path):
    plots = tmp_path / "plots"  # made by evaluate.py (the folders above it must exist)
    result = run_script("evaluate.py", str(small_checkpoint), "--data-dir", str(synthetic_dir), "--device", "cpu",
                        "--plots", str(plots), "--max-images", "12", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # --json output stays one JSON object; the file list goes to stderr
    assert png_size(plots / "confusion_matrix.png") == (750, 650)
    model, _ = ckpt.load_model(small_checkpoint)
    test = load_mnist(synthetic_dir).test
    wrong = int((logits_of(model, test.images).argmax(1) != test.labels).sum())
    assert wrong == round((1 - report["accuracy"]) * report["n"])
    if wrong:
        shown = min(12, wrong)
        columns = min(10, shown)
        rows = -(-shown // columns)
        assert png_size(plots / "misclassified.png") == (130 * columns, round(145 * rows + 50))
    else:
        assert not (plots / "misclassified.png").exists()

    taken = tmp_path / "file"
    taken.write_text("x")
    clash = run_script("evaluate.py", str(small_checkpoint), "--data-dir", str(synthetic_dir), "--plots", str(taken))
    assert clash.returncode == 2 and "exists and is not a folder" in clash.stderr


def test_training_curves_from_the_metrics(small_checkpoint, tmp_path):
    metrics = ckpt.load(small_checkpoint)["metrics"]
    assert png_size(figures.training_curves(metrics, tmp_path / "curves.png")) == pixels(figures.TRAINING_CURVES_SIZE)
    with pytest.raises(LSTMMnistError, match="no metrics to plot"):
        figures.training_curves([], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_units_are_sorted_by_what_they_add_to_the_answer():
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=16)
    t = trace(model, torch.rand(28, 28))
    torch.testing.assert_close(t.contributions, (model.head.weight * t.steps["h"][-1]).detach())
    added = t.contributions[t.prediction]  # (H,): head.weight[answer] * h_T
    order = figures.unit_order(t)
    assert sorted(order.tolist()) == list(range(16)) and (added[order].diff() <= 0).all()
    # they sum, with the head's bias, to the answer's logit
    torch.testing.assert_close(added.sum() + model.head.bias[t.prediction].detach(), t.logits[-1, t.prediction])


def test_a_quick_runs_training_curves_show_its_epoch(tmp_path):
    """One short epoch has no log record (fewer steps than --log-every): the figure still shows it."""
    metrics = [{"event": "epoch", "epoch": 1, "train_loss": 1.2, "train_accuracy": 0.6, "val_loss": 0.9,
                "val_accuracy": 0.7},
               {"event": "test", "epoch": 1, "loss": 0.95, "accuracy": 0.69}]
    assert png_size(figures.training_curves(metrics, tmp_path / "quick.png")) == (1000, 400)
