"""Each preset builds the configuration it claims; explicit flags override it; the results
table in the README is what the stored summaries say; and (with real MNIST) the fastest seed
preset reaches the accuracy the table claims for it."""

import json

import pytest
import torch

from lstm_mnist.commands import train
from conftest import ROOT, run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.presets import PRESETS, initialize
from lstm_mnist.training import schedule

EXPECTED = {  # preset: (input projection, init, lr, schedule, normalize, steps on 55,000 images)
    "seed-rows-3-epochs": (False, "normal", 1e-3, "constant", False, 3 * 430),
    "seed-rows-100k": (False, "normal", 1e-3, "constant", False, 781),
    "seed-projection-100k": (True, "normal", 1e-3, "constant", False, 781),
    "seed-projection-bias-100k": (True, "normal-bias0.1", 1e-3, "constant", False, 781),
    "best": (False, "pytorch", 3e-3, "cosine", True, 20 * 430),
}


def configs(*argv):
    parser = train.build_parser()
    return train.settings(parser.parse_args(list(argv)), None, None, parser)


def test_every_preset_is_tested():
    assert set(PRESETS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_builds_what_it_claims(name):
    projection, init, lr, lr_schedule, normalize, steps = EXPECTED[name]
    model_config, config = configs("--preset", name)
    assert (model_config.input_projection, config.init, config.lr, config.lr_schedule, model_config.normalize) == \
           (projection, init, lr, lr_schedule, normalize)
    assert (config.batch_size, model_config.hidden_size, model_config.forget_bias) == (128, 128, 1.0)
    assert config.preset == name
    assert schedule(config, 55_000).total_steps == steps

    torch.manual_seed(0)
    model = LSTMClassifier.from_config(model_config)
    initialize(model, config.init)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes["cell.weight_ih"] == (512, 128 if projection else 28)
    assert shapes["head.weight"] == (10, 128)
    assert ("projection.weight" in shapes) == projection
    if init.startswith("normal"):  # tf.random_normal: std 1, far above nn.Linear's ~0.09
        assert 0.9 < model.head.weight.std().item() < 1.1
    if init == "normal-bias0.1":
        assert torch.all(model.head.bias == 0.1) and torch.all(model.projection.bias == 0.1)
    if init == "pytorch":
        assert model.head.weight.abs().max().item() <= 1 / 128**0.5


def test_explicit_flags_override_the_preset():
    model_config, config = configs("--preset", "seed-rows-100k", "--epochs", "2", "--lr", "0.01", "--normalize")
    assert (config.epochs, config.train_samples, config.lr, model_config.normalize) == (2, None, 0.01, True)
    assert config.init == "normal" and config.preset == "seed-rows-100k"
    _, config = configs("--preset", "best", "--train-samples", "1000")
    assert (config.epochs, config.train_samples, config.augment) == (None, 1000, True)


def test_seeds_step_count():
    """``step = 1; while step * 128 < 100000: step += 1`` runs 781 times."""
    step, count = 1, 0
    while step * 128 < 100_000:
        step, count = step + 1, count + 1
    _, config = configs("--train-samples", "100000")
    assert schedule(config, 55_000).total_steps == count == 781


def test_preset_is_stored_in_the_checkpoint_and_resume_refuses_a_new_one(synthetic_dir, tmp_path):
    out = tmp_path / "run.pt"
    result = run_script("train.py", "--preset", "seed-projection-bias-100k", "--train-samples", "300",
                        "--limit-train", "200", "--device", "cpu", "--data-dir", str(synthetic_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "preset='seed-projection-bias-100k'" in result.stdout and "2 steps in 1 epoch(s)" in result.stdout
    stored = ckpt.load(out)
    assert stored["train_config"]["init"] == "normal-bias0.1" and stored["model_config"]["input_projection"]
    again = run_script("train.py", "--resume", str(out), "--preset", "best")
    assert again.returncode == 2 and "--preset cannot be combined with --resume" in again.stderr


def test_readme_table_is_generated_from_the_summaries(tmp_path):
    readme = tmp_path / "README.md"
    original = (ROOT / "README.md").read_text()
    readme.write_text(original)
    result = run_script("scripts/make_results.py", "--table-only", "--readme", str(readme))
    assert result.returncode == 0, result.stderr
    assert readme.read_text() == original, "README's results table differs from results/*.json: regenerate it"


def test_fastest_seed_preset_reaches_the_accuracy_the_readme_claims(mnist_dir, tmp_path):
    claim = json.loads((ROOT / "results" / "seed-rows-100k-seed0.json").read_text())["test_accuracy"]
    out = tmp_path / "run.pt"
    result = run_script("train.py", "--preset", "seed-rows-100k", "--seed", "0", "--device", "cpu",
                        "--data-dir", str(mnist_dir), "--out", str(out), timeout=1200)
    assert result.returncode == 0, result.stderr
    accuracy = ckpt.load(out)["metrics"][-1]["accuracy"]
    assert accuracy >= claim - 0.005, f"{accuracy:.4f} < the README's {claim:.4f} - 0.5 points"
