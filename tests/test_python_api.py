"""The Python API used carelessly: what the README documents (the model, the cells, ``train``, ``trace``, the
TensorFlow conversion) given arguments that cannot work is a ValueError or TypeError that names what was
expected and what was got, at the call, never a silent wrong answer or an error from deep inside PyTorch."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_mnist import GRUCell, LSTMCell, LSTMClassifier, LSTMState, ModelConfig, RNNCell
from lstm_mnist.config import TrainConfig
from lstm_mnist.data import MNIST, Split
from lstm_mnist.errors import SettingError
from lstm_mnist.trace import trace
from lstm_mnist.training import fit, train


def tiny_mnist() -> MNIST:
    """Three splits of a few random images: enough for a run of one step, in memory."""
    generator = torch.Generator().manual_seed(0)

    def split(n: int) -> Split:
        return Split(torch.rand(n, 28, 28, generator=generator), torch.randint(0, 10, (n,), generator=generator))

    return MNIST(split(8), split(4), split(4))


@pytest.mark.parametrize("fields, message", [
    (dict(epochs=0), "epochs=0: expected a whole number >= 1"),
    (dict(epochs=1.5), "epochs=1.5: expected a whole number >= 1"),
    (dict(epochs=None), "epochs=None: give epochs or train_samples"),
    (dict(batch_size=0), "batch_size=0: expected a whole number >= 1"),
    (dict(lr=0.0), "lr=0.0: expected a number from 1e-30"),
    (dict(lr=-1e-3), "lr=-0.001: expected a number from 1e-30"),
    (dict(lr_schedule="Cosine"), "lr_schedule='Cosine': expected cosine or constant"),
    (dict(seed=-1), "seed=-1: expected a whole number from 0"),
    (dict(clip_grad_norm=0), "clip_grad_norm=0: expected a finite number > 0"),
])
def test_train_refuses_settings_its_checkpoint_could_not_hold_before_any_step(fields, message, tmp_path):
    """Before: epochs=0 wrote the untrained model's test result, lr=0 trained nothing, seed=-1 trained, and each
    wrote a checkpoint that load() refused; batch_size=0 was a ZeroDivisionError."""
    config = TrainConfig(**fields)
    with pytest.raises(SettingError, match=message):
        train(ModelConfig(hidden_size=4), config, tiny_mnist(), tmp_path / "run.pt")
    with pytest.raises(SettingError, match=message):
        fit(None, None, tiny_mnist(), config, tmp_path / "run.pt")  # checked before the model is touched
    assert list(tmp_path.iterdir()) == []


def test_train_takes_a_train_config_only(tmp_path):
    with pytest.raises(TypeError, match="expected a TrainConfig, got dict"):
        train(ModelConfig(hidden_size=4), {"epochs": 1}, tiny_mnist(), Path(tmp_path / "run.pt"))


@pytest.mark.parametrize("fields, error, message", [
    (dict(hidden_size=0), ValueError, "hidden_size must be a whole number >= 1, got 0"),  # was a ZeroDivisionError
    (dict(hidden_size=-1), ValueError, "hidden_size must be a whole number >= 1, got -1"),
    (dict(hidden_size=128.0), TypeError, r"hidden_size must be a whole number >= 1, got 128.0 \(float\)"),
    (dict(hidden_size=True), TypeError, r"got True \(bool\)"),  # was a model of one unit
    (dict(hidden_size="128"), TypeError, "hidden_size must be a whole number"),
    (dict(forget_bias=float("nan")), ValueError, "forget_bias must be a finite number, got nan"),  # was NaN logits
    (dict(forget_bias=None), TypeError, "forget_bias must be a finite number, got None"),
    (dict(input_projection="False"), TypeError, "input_projection must be True or False, got 'False'"),  # projected
    (dict(normalize=1), TypeError, "normalize must be True or False, got 1"),
    (dict(num_classes=0), ValueError, "num_classes must be a whole number >= 1, got 0"),  # was logits (B, 0)
    (dict(input_size=0), ValueError, "input_size must be a whole number >= 1, got 0"),
    (dict(cell="LSTM"), ValueError, "cell must be one of lstm, rnn, gru, got 'LSTM'"),
    (dict(cell=None), TypeError, "cell must be one of lstm, rnn, gru, got None"),
])
def test_a_model_config_that_describes_no_model_is_refused_by_the_fields_name(fields, error, message):
    with pytest.raises(error, match=message):
        ModelConfig(**fields)
    with pytest.raises(error, match=message):
        LSTMClassifier(**fields)
    with pytest.raises(error, match=message):
        LSTMClassifier(ModelConfig(), **fields)


@pytest.mark.parametrize("cell_class", [LSTMCell, RNNCell, GRUCell])
@pytest.mark.parametrize("case", ["one row of state", "wrong H = 1", "unbatched state", "one row of input",
                                  "another batch", "wrong I"])
def test_a_cell_refuses_a_step_it_would_broadcast_into_another_batchs_answer(cell_class, case):
    """Before: a state (1, H), (H,) or with H = 1, or an input row (I,), broadcast into outputs (B, H) without a word
    (nn.LSTMCell refuses each); a state given as one tensor (B, H) was unpacked into its first two rows."""
    cell, B = cell_class(28, 16), 3
    rows = {"one row of input": (28,), "wrong I": (B, 27)}.get(case, (B, 28))
    state = {"one row of state": (1, 16), "wrong H = 1": (B, 1), "unbatched state": (16,),
             "another batch": (B + 1, 16)}.get(case, (B, 16))
    states = LSTMState(torch.zeros(B, 16), torch.zeros(state)) if cell_class is LSTMCell else torch.zeros(state)
    with pytest.raises(ValueError, match=rf"{cell_class.__name__} expected input_ \(B, 28\) and .*\(B, 16\), the same"
                                         rf" B; got input_ {re.escape(str(rows))}"):
        cell(torch.rand(rows), states)


def test_an_lstm_state_given_as_one_tensor_or_an_rnns_given_two_is_refused():
    x = torch.rand(2, 28)
    with pytest.raises(ValueError, match=r"LSTMState\(h, c\), each \(B, 16\), the same B; got input_ \(2, 28\) and "
                                         r"\(16,\), \(16,\)"):
        LSTMCell(28, 16)(x, torch.zeros(2, 16))  # h, c = state: its two rows
    with pytest.raises(ValueError, match=r"and h \(B, 16\), the same B; got input_ \(2, 28\) and LSTMState"):
        RNNCell(28, 16)(x, LSTMCell(28, 16).zero_state(2, like=x))


@pytest.mark.parametrize("config", [{"hidden_size": 64}, 64])
def test_a_model_is_built_from_a_model_config_or_fields_not_a_dict_or_a_number(config):
    """Before: 'replace() should be called on dataclass instances', from inside dataclasses."""
    with pytest.raises(TypeError, match=r"expected a ModelConfig or fields \(hidden_size=64, ...\), got "):
        LSTMClassifier(config)


@pytest.mark.parametrize("images", [np.random.rand(2, 28, 28).astype(np.float32), [[[0.0] * 28] * 28]])
def test_images_that_are_not_a_tensor_are_a_type_error_that_says_so(images):
    """Before: AttributeError: 'numpy.ndarray' object has no attribute 'dim', from the model and from trace()."""
    with pytest.raises(TypeError, match=f"expected images as a torch.Tensor, got a {type(images).__name__}"):
        LSTMClassifier(hidden_size=4)(images)
    with pytest.raises(TypeError, match=f"expected an image as a torch.Tensor, got a {type(images).__name__}"):
        trace(LSTMClassifier(hidden_size=4), images[0])
