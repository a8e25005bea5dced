"""The classifier against nn.LSTM + the same head, and the checks that it reads rows, in order."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lstm_mnist import LSTMClassifier, ModelConfig
from lstm_mnist.model import PIXEL_MEAN, PIXEL_STD
from lstm_mnist.reference import FusedLSTMClassifier, LSTMCellLoopClassifier


pytestmark = pytest.mark.usefixtures("float64")  # conftest.py: compare in float64


@pytest.mark.parametrize("input_projection", [False, True])
@pytest.mark.parametrize("forget_bias", [0.0, 1.0])
@pytest.mark.parametrize("normalize", [True, False])
def test_logits_and_gradients_match_nn_lstm(input_projection, forget_bias, normalize):
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=32, forget_bias=forget_bias, input_projection=input_projection,
                           normalize=normalize)
    ref = FusedLSTMClassifier(model)
    images, labels = torch.rand(5, 28, 28), torch.randint(0, 10, (5,))

    logits, ref_logits = model(images), ref(images)
    assert logits.shape == (5, 10)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(LSTMCellLoopClassifier(model)(images), logits, rtol=1e-10, atol=1e-10)

    F.cross_entropy(logits, labels).backward()
    F.cross_entropy(ref_logits, labels).backward()
    pairs = [(model.cell.weight_ih, ref.lstm.weight_ih_l0), (model.cell.weight_hh, ref.lstm.weight_hh_l0),
             (model.cell.bias_ih, ref.lstm.bias_ih_l0), (model.cell.bias_hh, ref.lstm.bias_hh_l0),
             (model.head.weight, ref.head.weight), (model.head.bias, ref.head.bias)]
    if input_projection:
        pairs.append((model.projection.weight, ref.projection.weight))
    for ours, theirs in pairs:
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-9, atol=1e-10)


def test_reads_rows_in_order_one_image_at_a_time():
    """Logits equal the cell stepped by hand over rows images[b, 0], images[b, 1], ...
    A model that read columns, or mixed the batch and time axes, fails here."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=16)
    images = torch.rand(3, 28, 28)
    logits = model(images)
    for b in range(3):
        state = model.cell.zero_state(1, like=images)
        for t in range(28):
            row = (images[b, t] - PIXEL_MEAN) / PIXEL_STD  # row t of image b: (I,)
            output, state = model.cell(row.unsqueeze(0), state)  # (1, H)
        torch.testing.assert_close(logits[b], model.head(output)[0], rtol=1e-12, atol=1e-12)
    # Reading columns would be the same computation on the transposed image: it must differ.
    assert not torch.allclose(logits, model(images.transpose(1, 2)))


def test_the_last_row_matters_and_order_matters():
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=16)
    images = torch.rand(2, 28, 28)
    logits = model(images)  # (2, K)
    for row in (27, 0):  # the last row read, and the first, whose trace must survive 27 steps
        changed = images.clone()
        changed[:, row] = torch.rand(2, 28)
        difference = (model(changed) - logits).abs().amax(dim=1)  # (2,)
        assert (difference > 1e-6).all(), (row, difference)
    assert not torch.allclose(model(images), model(images.flip(1)))  # rows in reverse order


def test_accepts_a_channel_axis_and_refuses_other_shapes():
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    images = torch.rand(4, 28, 28)
    torch.testing.assert_close(model(images.unsqueeze(1)), model(images), rtol=0, atol=0)
    for bad in (torch.rand(4, 784), torch.rand(4, 28, 27), torch.rand(4, 3, 28, 28), torch.rand(4, 0, 28)):
        for fast, grad in ((True, True), (True, False), (False, True)):  # each path refuses it the same way
            model.fast = fast
            with torch.set_grad_enabled(grad), pytest.raises(ValueError, match="expected images of shape"):
                model(bad)


def test_refuses_pixels_that_are_not_floats():
    """torchvision's MNIST.data is uint8, 0 to 255: model(mnist.data[:4]) answered confidently about
    pictures 255 times too bright (normalisation made floats of the integers without a word)."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    images = (torch.rand(4, 28, 28) * 255).to(torch.uint8)
    for fast in (True, False):
        model.fast = fast
        with pytest.raises(ValueError, match=r"floats in \[0, 1\], got torch.uint8 \(0 to 255\?\): pass images / 255"):
            model(images)
    for other in (torch.int64, torch.bool):
        with pytest.raises(ValueError, match=rf"floats in \[0, 1\], got {other}$"):
            model(images.to(other))
    assert model(images / 255).shape == (4, 10)  # what the message says to do


def test_public_api_and_attributes():
    model = LSTMClassifier()
    assert model.config == ModelConfig(hidden_size=128, forget_bias=1.0, input_projection=False, normalize=True)
    assert model.cell.input_size == 28 and model.cell.hidden_size == 128 and model.cell.forget_bias == 1.0
    assert isinstance(model.head, nn.Linear) and model.head.weight.shape == (10, 128)
    assert model.projection is None
    projected = LSTMClassifier(hidden_size=64, input_projection=True)
    assert projected.projection.weight.shape == (64, 28) and projected.cell.input_size == 64
    assert LSTMClassifier.from_config(projected.config).config == projected.config
    assert sum(p.numel() for p in model.parameters()) == 4 * 128 * (28 + 128 + 2) + 128 * 10 + 10


def test_no_fused_lstm_in_the_models_path():
    """The hand-written cell is the point: no nn.LSTM / nn.LSTMCell / torch._VF in the model."""
    model = LSTMClassifier(input_projection=True)
    kinds = {type(m) for m in model.modules()}
    assert not kinds & {nn.LSTM, nn.LSTMCell, nn.RNNBase}
    import inspect

    import lstm_mnist.cell
    import lstm_mnist.model

    for module in (lstm_mnist.cell, lstm_mnist.model):
        source = inspect.getsource(module)
        for forbidden in ("nn.LSTM(", "nn.LSTMCell(", "_VF", "lstm_cell("):
            assert forbidden not in source, f"{forbidden} in {module.__name__}"


def test_overfits_a_small_batch_to_full_accuracy():
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=64)
    images, labels = torch.rand(32, 28, 28), torch.arange(32) % 10  # random images: memorised, not learnt
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (model(images).argmax(1) == labels).float().mean().item() == 1.0
    assert loss.item() < 0.05
