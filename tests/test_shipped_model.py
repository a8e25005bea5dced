"""The shipped model and digits: slim, loadable with no data, reading the walkthrough's digit as
the walkthrough says; with MNIST_DIR, the README's accuracy and MNIST's exact pixels."""

import re

import numpy as np
import torch
from PIL import Image

from conftest import ROOT, run_script
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.data import load_mnist
from lstm_mnist.evaluation import evaluate
from lstm_mnist.images import load_image
from lstm_mnist.trace import trace

SHIPPED = ROOT / "docs" / "model" / "lstm-mnist.pt"
DIGITS = {0: 7, 1: 2, 2: 1, 3: 0, 4: 4, 7: 9, 8: 5, 11: 6, 18: 3, 61: 8}  # test index: label


def readme_accuracy() -> float:
    return float(re.search(r"Its test accuracy is \*\*([\d.]+)%\*\*", (ROOT / "README.md").read_text()).group(1))


def test_the_shipped_model_is_slim_and_loads_without_data():
    assert SHIPPED.stat().st_size < 400_000
    model, checkpoint = ckpt.load_model(SHIPPED)
    assert set(checkpoint) - {"class_names"} == {"format", "version", "model_config", "model", "train_config",
                                               "versions", "metrics"}
    assert model.config.hidden_size == 128 and model.config.cell == "lstm"
    assert round(100 * checkpoint["metrics"][0]["accuracy"], 2) == readme_accuracy()
    assert sorted(p.name for p in (ROOT / "docs" / "digits").iterdir()) == sorted(f"test-{i}.png" for i in DIGITS)


def test_it_reads_the_walkthroughs_nine_as_the_walkthrough_says():
    model, _ = ckpt.load_model(SHIPPED)
    answers = {index: trace(model, load_image(ROOT / "docs" / "digits" / f"test-{index}.png")) for index in DIGITS}
    assert {index: t.prediction for index, t in answers.items()} == DIGITS  # every sample digit is read right
    t = answers[7]
    assert t.decided_at() == 20 and round(100 * float(t.probabilities[-1, 9]), 1) == 97.6
    f = t.steps["f"].mean(dim=1)  # (T,): the walkthrough's "0.80 at row 0, 0.64 over rows 9-11, 0.86 from row 19"
    assert round(float(f[0]), 2) == 0.80 and [round(float(v), 2) for v in f[9:12]] == [0.64] * 3
    assert round(float(f[19]), 2) == 0.86 and float((t.steps["f"][9:12] > 0.9).float().mean(dim=1).max()) < 0.16
    assert [int(p.argmax()) for p in t.probabilities[:5]] == [2] * 5 and round(float(t.probabilities[:5, 2].max()), 2) == 0.46


def test_the_walkthroughs_decisive_units_forget_as_it_says():
    """The walkthrough on the four units that add most to the answer: three of them lower f over the blank
    rows, to 0.52-0.69 at row 5, and raise it at row 6, where the ink begins."""
    model, _ = ckpt.load_model(SHIPPED)
    t = trace(model, load_image(ROOT / "docs" / "digits" / "test-7.png"))
    decisive = (model.head.weight[t.prediction] * t.steps["h"][27]).argsort(descending=True)[:4]  # as the figure
    f = t.steps["f"][:, decisive].detach()  # (T, 4)
    lowering = [k for k in range(4) if all(f[r + 1, k] < f[r, k] for r in range(5)) and f[6, k] > f[5, k]]
    assert len(lowering) == 3
    at_row_5 = [round(float(f[5, k]), 2) for k in lowering]
    assert min(at_row_5) == 0.52 and max(at_row_5) == 0.69


def test_the_documented_command_runs_after_cloning(tmp_path):
    result = run_script("inspect_digit.py", str(SHIPPED), "--image", str(ROOT / "docs" / "digits" / "test-7.png"),
                        "--no-figure", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "prediction: 9 (97.6%), the most probable from row 20 on" in result.stdout
    refused = run_script("scripts/make_shipped_checkpoint.py", "--data-dir", str(tmp_path))
    assert refused.returncode == 2 and "lstm-mnist.pt exists: give --overwrite" in refused.stderr


def test_the_readme_accuracy_and_the_digits_pixels_on_real_mnist(mnist_dir):
    model, _ = ckpt.load_model(SHIPPED)
    test = load_mnist(mnist_dir).test
    assert round(100 * evaluate(model, test)["accuracy"], 2) == readme_accuracy()
    for index, label in DIGITS.items():
        with Image.open(ROOT / "docs" / "digits" / f"test-{index}.png") as png:
            pixels = np.asarray(png)
        assert int(test.labels[index]) == label
        assert np.array_equal(pixels, np.uint8(np.round(255 * test.images[index].numpy())))
        torch.testing.assert_close(load_image(ROOT / "docs" / "digits" / f"test-{index}.png"), test.images[index])
