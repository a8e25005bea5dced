"""Each preset builds the configuration it claims; explicit flags override it; the results
table in the README is what the stored summaries say; and (with real MNIST) the fastest seed
preset reaches the accuracy the table claims for it."""

import json
from dataclasses import asdict

import pytest
import torch

from lstm_mnist.commands import train
from conftest import ROOT, run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.errors import UsageError
from lstm_mnist.presets import PRESETS, initialize
from lstm_mnist.training import run_length

EXPECTED = {  # preset: (input projection, init, lr, schedule, normalize, steps on 55,000 images)
    "seed-rows-3-epochs": (False, "normal", 1e-3, "constant", False, 3 * 430),
    "seed-rows-100k": (False, "normal", 1e-3, "constant", False, 781),
    "seed-projection-100k": (True, "normal", 1e-3, "constant", False, 781),
    "seed-projection-bias-100k": (True, "normal-bias0.1", 1e-3, "constant", False, 781),
    "best": (False, "pytorch", 3e-3, "cosine", True, 20 * 430),
}


def configs(*argv):
    args = train.build_parser().parse_args(list(argv))
    model_config, config, _ = train.resolve_settings(train.given(args, "model"), train.given(args, "train"),
                                                     args.preset)
    return model_config, config


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
    assert run_length(config, 55_000).total_steps == steps

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
    assert run_length(config, 55_000).total_steps == count == 781


def test_preset_is_stored_in_the_checkpoint_and_resume_refuses_a_new_one(synthetic_dir, tmp_path):
    out = tmp_path / "run.pt"
    result = run_script("train.py", "--preset", "seed-projection-bias-100k", "--train-samples", "300",
                        "--limit-train", "200", "--device", "cpu", "--data-dir", str(synthetic_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "preset='seed-projection-bias-100k'" in result.stdout and "2 steps in 1 epoch" in result.stdout
    stored = ckpt.load(out)
    assert stored["train_config"]["init"] == "normal-bias0.1" and stored["model_config"]["input_projection"]
    with pytest.raises(UsageError, match="--preset cannot be combined with --resume"):
        train.resolve_settings({}, {}, "best", stored=stored)


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


def test_settings_resolve_as_a_pure_function():
    """Defaults, then the preset, then flags; a resumed run keeps its settings but its length."""
    model_config, config, names = train.resolve_settings({"hidden_size": 32}, {"epochs": 2}, "seed-rows-100k")
    assert (model_config.hidden_size, config.epochs, config.train_samples, config.init) == (32, 2, None, "normal")
    assert names is None
    stored = {"model_config": asdict(model_config), "train_config": asdict(config), "class_names": list("abcdefghij")}
    model_again, config_again, names = train.resolve_settings({"hidden_size": 32}, {"train_samples": 1000}, stored=stored)
    assert model_again == model_config and names == tuple("abcdefghij")
    assert (config_again.epochs, config_again.train_samples) == (None, 1000)
    for model_flags, train_flags, names, message in [
        ({"hidden_size": 64}, {}, None, "--hidden-size 64 differs from the checkpoint's 32"),
        ({}, {"lr": 0.5}, None, "--lr 0.5 differs from the checkpoint's 0.001"),
        ({}, {}, tuple("0123456789"), "--class-names 0,1,2,3,4,5,6,7,8,9 differs from the checkpoint's a,b,"),
    ]:
        with pytest.raises(UsageError, match=message):
            train.resolve_settings(model_flags, train_flags, names=names, stored=stored)
    with pytest.raises(UsageError, match="--forget-bias is the LSTM's; a GRU cell has no forget gate"):
        train.resolve_settings({"cell": "gru", "forget_bias": 2.0}, {})


def test_every_config_field_has_its_flag():
    """Each flag names the config field it sets (its dest); the fields without one are these."""
    dests = {action.dest for action in train.build_parser()._actions}
    fields = {f"model.{name}" for name in asdict(train.MODEL_DEFAULTS)} | \
             {f"train.{name}" for name in asdict(train.TRAIN_DEFAULTS)}
    assert fields - dests == {"model.input_size", "model.num_classes", "train.preset"}  # set by the data; --preset
    assert {dest for dest in dests if dest.startswith(("model.", "train."))} <= fields
