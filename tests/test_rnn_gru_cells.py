"""The hand-written plain RNN and GRU cells against nn.RNNCell / nn.GRUCell and nn.RNN / nn.GRU,
in float64; --cell on the command line; checkpoints written before --cell existed."""

import pytest
import torch
from torch import nn

from lstm_mnist import GRUCell, LSTMClassifier, RNNCell
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.model import PIXEL_MEAN, PIXEL_STD
from tests.conftest import run_script

pytestmark = pytest.mark.usefixtures("float64")  # conftest.py: compare in float64

PAIRS = [(RNNCell, nn.RNNCell), (GRUCell, nn.GRUCell)]


@pytest.mark.parametrize("ours_class, theirs_class", PAIRS, ids=["rnn", "gru"])
@pytest.mark.parametrize("batch_size", [1, 5])
def test_values_and_gradients_match_pytorch_cells(ours_class, theirs_class, batch_size):
    torch.manual_seed(batch_size)
    I, H = 6, 9
    cell = ours_class(I, H)
    ref = theirs_class(I, H)
    ref.load_state_dict(cell.state_dict(), strict=True)  # same names and shapes
    x = torch.randn(batch_size, I, requires_grad=True)
    h0 = torch.randn(batch_size, H, requires_grad=True)

    output, h = cell(x, h0)
    h_ref = ref(x, h0)
    torch.testing.assert_close(output, h_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h, h_ref, rtol=1e-12, atol=1e-12)

    weights = torch.randn(batch_size, H)
    ours = torch.autograd.grad((h * weights).sum(), [x, h0, *cell.parameters()])
    theirs = torch.autograd.grad((h_ref * weights).sum(), [x, h0, *ref.parameters()])
    for name, a, b in zip(["x", "h0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"], ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"gradient of {name} differs")


@pytest.mark.parametrize("ours_class, theirs_class", PAIRS, ids=["rnn", "gru"])
def test_initialisation_has_pytorchs_shapes_and_bounds(ours_class, theirs_class):
    cell, ref = ours_class(28, 64), theirs_class(28, 64)
    for (name, p), (ref_name, q) in zip(cell.named_parameters(), ref.named_parameters()):
        assert (name, p.shape) == (ref_name, q.shape)
        assert p.abs().max() <= 1 / 64**0.5 and p.std() > 0.5 * q.std()


@pytest.mark.parametrize("cell, fused_class", [("rnn", nn.RNN), ("gru", nn.GRU)])
@pytest.mark.parametrize("input_projection", [False, True])
def test_classifier_equals_pytorchs_fused_layer(cell, fused_class, input_projection):
    """The whole row-by-row classifier with --cell rnn/gru computes what nn.RNN / nn.GRU do."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=12, cell=cell, input_projection=input_projection)
    fused = fused_class(model.cell.input_size, 12, batch_first=True)
    with torch.no_grad():
        for name, tensor in model.cell.state_dict().items():
            getattr(fused, f"{name}_l0").copy_(tensor)
    images = torch.rand(3, 28, 28)
    x = (images - PIXEL_MEAN) / PIXEL_STD
    if input_projection:
        x = model.projection(x)
    outputs, _ = fused(x)  # (B, T, H)
    torch.testing.assert_close(model(images), model.head(outputs[:, -1]), rtol=1e-10, atol=1e-10)


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of lstm, rnn, gru"):
        LSTMClassifier(cell="transformer")


def test_checkpoint_from_before_the_cell_option_loads_as_an_lstm(tmp_path):
    model = LSTMClassifier(hidden_size=8)
    config = {k: v for k, v in vars(model.config).items() if k != "cell"}  # as lstm-mnist 0.1 wrote it
    path = tmp_path / "old.pt"
    ckpt.save(path, {"format": ckpt.FORMAT, "version": 1, "model_config": config, "model": model.state_dict()})
    loaded, _ = ckpt.load_model(path)
    assert loaded.config.cell == "lstm"
    images = torch.rand(2, 28, 28)
    torch.testing.assert_close(loaded(images), model(images))


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_train_and_evaluate_with_another_cell(cell, synthetic_dir, tmp_path):
    out = tmp_path / f"{cell}.pt"
    result = run_script("train.py", "--cell", cell, "--hidden-size", "16", "--epochs", "1", "--device", "cpu",
                        "--data-dir", str(synthetic_dir), "--limit-train", "400", "--out", str(out), "--no-figure")
    assert result.returncode == 0, result.stderr
    assert not ckpt.figure_path(out).exists()  # --no-figure
    model, _ = ckpt.load_model(out)
    assert model.config.cell == cell and type(model.cell).__name__ == {"rnn": "RNNCell", "gru": "GRUCell"}[cell]
    result = run_script("evaluate.py", str(out), "--data-dir", str(synthetic_dir), "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    assert '"accuracy"' in result.stdout


def test_forget_bias_with_another_cell_is_a_usage_error(run_in_process, synthetic_dir, tmp_path):
    result = run_in_process("train.py", "--cell", "gru", "--forget-bias", "2", "--data-dir", str(synthetic_dir),
                        "--out", str(tmp_path / "x.pt"))
    assert result.returncode == 2 and "--forget-bias is the LSTM's; a GRU cell has no forget gate" in result.stderr
    assert not (tmp_path / "x.pt").exists()
