"""The training loop in-process: the learning-rate schedule, divergence, what it writes."""

import copy
import math
import pickle

import pytest
import torch

from lstm_mnist import LSTMClassifier, ModelConfig
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.data import load_mnist
from lstm_mnist.errors import SettingError, in_flags
from lstm_mnist.training import RunOptions, TrainConfig, TrainingDiverged, fit, learning_rate, train


def test_cosine_schedule_starts_at_lr_and_decays_to_zero():
    config = TrainConfig(lr=0.003, lr_schedule="cosine")
    rates = [learning_rate(config, step, 100) for step in range(100)]
    assert rates[0] == 0.003
    assert math.isclose(rates[50], 0.0015)
    assert 0 < rates[-1] < 1e-5
    assert all(a > b for a, b in zip(rates, rates[1:]))
    constant = TrainConfig(lr=0.001, lr_schedule="constant")
    assert {learning_rate(constant, step, 100) for step in range(100)} == {0.001}


def test_fit_writes_checkpoint_and_metrics_and_learns(synthetic_dir, tmp_path):
    data = load_mnist(synthetic_dir)
    out = tmp_path / "run.pt"
    _, metrics = train(ModelConfig(hidden_size=32), TrainConfig(epochs=4, batch_size=16, lr=0.01), data, out)
    assert [m["event"] for m in metrics if m["event"] != "log"] == ["epoch"] * 4 + ["test"]
    steps_per_epoch = (len(data.train) + 15) // 16
    assert [m["step"] for m in metrics if m["event"] == "log" and m["epoch"] == 1] == \
        [*range(50, steps_per_epoch, 50), steps_per_epoch]  # every log_every steps, and the epoch's last
    assert metrics[-1]["accuracy"] > 0.5
    stored = ckpt.load(out)
    assert stored["progress"]["epoch"] == 4 and stored["metrics"] == metrics
    assert ckpt.metrics_path(out).read_text().count("\n") == len(metrics)


def test_diverged_loss_stops_with_a_clear_message_and_writes_nothing(synthetic_dir, tmp_path):
    data = load_mnist(synthetic_dir)
    data.train.images[:] = float("nan")  # every training image poisoned
    model = LSTMClassifier(hidden_size=8)
    out = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match=r"loss became nan in epoch 1 by step \d+/\d+.*") as error:
        fit(model, torch.optim.Adam(model.parameters()), data, TrainConfig(epochs=1, batch_size=64), out,
            options=RunOptions(log_every=2))
    assert not out.exists()
    # the library names the config field its caller set; train.py (cli.run) the flag its user typed
    assert str(error.value).endswith("try a lower learning rate (lr, now 0.003)") and "--" not in str(error.value)
    assert in_flags(error.value).endswith("try a lower --lr (now 0.003)")


def test_the_programs_say_the_flags_where_the_library_names_its_settings(capsys):
    """cli.run prints ``in_flags``: train.py's user typed --lr and --limit-train, not lr or limit_train."""
    from lstm_mnist.cli import run

    def diverged():
        raise TrainingDiverged("the loss became nan in epoch 1 by step 2/7; no checkpoint was written", 0.01)

    def too_many():
        raise SettingError("limit_train", 6000, "the training split has only 400 images")

    assert run(diverged, "train.py") == 1 and run(too_many, "train.py") == 2
    assert capsys.readouterr().err.splitlines() == [
        "train.py: error: the loss became nan in epoch 1 by step 2/7; no checkpoint was written; try a lower --lr "
        "(now 0.01)", "train.py: error: --limit-train 6000: the training split has only 400 images (see --help)"]


def test_the_errors_that_name_a_setting_can_be_pickled_and_copied():
    """An error crosses processes pickled (train() in a ProcessPoolExecutor, for a sweep): made again from its
    message alone, TrainingDiverged and SettingError raised TypeError (__init__ missing 'lr'), and the pool said
    only BrokenProcessPool: 'A process in the process pool was terminated abruptly'; copy.copy failed alike."""
    for error in (TrainingDiverged("the loss became nan in epoch 1 by step 2/7", 0.01),
                  SettingError("limit_train", 6000, "the training split has only 400 images")):
        for again in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
            assert type(again) is type(error) and str(again) == str(error) and in_flags(again) == in_flags(error)


def test_a_limit_past_the_training_split_names_the_config_field_not_the_flag(synthetic_dir, tmp_path):
    """train(config=TrainConfig(limit_train=...)) from Python said '--limit-train 6000: ...', a flag its
    caller never typed; the programs still say --limit-train (tests/test_hostile_inputs.py)."""
    data = load_mnist(synthetic_dir)  # 5,400 training images: 400 after the 5,000 for validation
    with pytest.raises(SettingError) as error:
        train(ModelConfig(hidden_size=8), TrainConfig(epochs=1, limit_train=6000), data, tmp_path / "run.pt")
    assert str(error.value).startswith("limit_train=6000: the training split has only 400 images")
    assert "--" not in str(error.value) and in_flags(error.value).startswith("--limit-train 6000: the training split")
    assert list(tmp_path.iterdir()) == []
