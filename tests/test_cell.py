"""The hand-written cell against torch.nn.LSTMCell, in float64: values, gradients, state dicts."""

import math

import pytest
import torch
from torch import nn

from lstm_mnist import GRUCell, LSTMCell, LSTMState, RNNCell
from lstm_mnist.reference import reference_cell



pytestmark = pytest.mark.usefixtures("float64")  # conftest.py: compare in float64


@pytest.mark.parametrize("forget_bias", [0.0, 1.0, -0.5])
@pytest.mark.parametrize("batch_size", [1, 3, 17])
def test_values_and_gradients_match_nn_lstmcell(batch_size, forget_bias):
    torch.manual_seed(batch_size)
    I, H = 5, 7
    cell = LSTMCell(I, H, forget_bias=forget_bias)
    ref = reference_cell(cell)
    x = torch.randn(batch_size, I, requires_grad=True)
    h0 = torch.randn(batch_size, H, requires_grad=True)
    c0 = torch.randn(batch_size, H, requires_grad=True)

    output, state = cell(x, LSTMState(h0, c0))
    h_ref, c_ref = ref(x, (h0, c0))
    torch.testing.assert_close(output, h_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state.h, h_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state.c, c_ref, rtol=1e-12, atol=1e-12)

    # A loss that reads both h and c, so every gradient path is exercised.
    weights_h, weights_c = torch.randn(batch_size, H), torch.randn(batch_size, H)
    ours = torch.autograd.grad((state.h * weights_h).sum() + (state.c * weights_c).sum(),
                               [x, h0, c0, *cell.parameters()])
    theirs = torch.autograd.grad((h_ref * weights_h).sum() + (c_ref * weights_c).sum(),
                                 [x, h0, c0, *ref.parameters()])
    for name, a, b in zip(["x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"], ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"gradient of {name} differs")


def test_forget_bias_zero_is_exactly_nn_lstmcell_over_many_steps():
    torch.manual_seed(0)
    cell = LSTMCell(28, 16, forget_bias=0.0)
    ref = nn.LSTMCell(28, 16)
    ref.load_state_dict(cell.state_dict())
    x = torch.randn(28, 4, 28)  # (T, B, I)
    state, (h, c) = cell.zero_state(4, like=x), (torch.zeros(4, 16), torch.zeros(4, 16))
    for input_ in x:
        output, state = cell(input_, state)
        h, c = ref(input_, (h, c))
    torch.testing.assert_close(output, h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state.c, c, rtol=1e-12, atol=1e-12)


def test_forget_bias_changes_the_result():
    torch.manual_seed(0)
    cell = LSTMCell(3, 4, forget_bias=0.0)
    x, state = torch.randn(2, 3), LSTMState(torch.randn(2, 4), torch.randn(2, 4))
    without = cell(x, state)[1].c
    cell.forget_bias = 1.0
    assert not torch.allclose(without, cell(x, state)[1].c)


def test_parameters_match_nn_lstmcell_and_state_dicts_move_both_ways():
    ours, theirs = LSTMCell(28, 128), nn.LSTMCell(28, 128)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]
    assert dict(ours.named_parameters())["weight_ih"].shape == (4 * 128, 28)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    torch.testing.assert_close(ours.weight_hh, theirs.weight_hh, rtol=0, atol=0)
    fresh = nn.LSTMCell(28, 128)
    fresh.load_state_dict(ours.state_dict(), strict=True)
    torch.testing.assert_close(fresh.bias_hh, ours.bias_hh, rtol=0, atol=0)


def test_initialisation_is_uniform_within_one_over_sqrt_hidden():
    torch.manual_seed(0)
    cell = LSTMCell(28, 64)
    bound = 1 / math.sqrt(64)
    for name, p in cell.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.abs().max() > 0.9 * bound, name  # spread over the whole range, not a narrower one
        assert abs(p.mean().item()) < 0.1 * bound, name


def test_zero_state_follows_the_input():
    cell = LSTMCell(3, 5)
    like = torch.ones(2, 3, dtype=torch.float32)
    state = cell.zero_state(4, like=like)
    assert isinstance(state, LSTMState)
    assert state.h.shape == state.c.shape == (4, 5)
    assert state.h.dtype == torch.float32 and not state.h.any() and not state.c.any()


def test_output_is_the_new_hidden_state():
    torch.manual_seed(0)
    cell = LSTMCell(3, 5)
    output, state = cell(torch.randn(2, 3), cell.zero_state(2, like=torch.zeros(1)))
    assert output is state.h
    assert output.shape == (2, 5)


ALL_CELLS = [(LSTMCell, nn.LSTMCell), (RNNCell, nn.RNNCell), (GRUCell, nn.GRUCell)]


@pytest.mark.parametrize("ours_class, theirs_class", ALL_CELLS, ids=["lstm", "rnn", "gru"])
def test_no_state_means_zeros_as_in_pytorchs_cells(ours_class, theirs_class):
    """``cell(x)`` (or ``cell(x, None)``) is the first row from a zero state, as nn.LSTMCell(x) is."""
    torch.manual_seed(0)
    cell, ref = ours_class(5, 7), theirs_class(5, 7)
    if ours_class is LSTMCell:
        cell.forget_bias = 0.0  # nn.LSTMCell has none
    ref.load_state_dict(cell.state_dict())
    x = torch.randn(3, 5)
    output, _ = cell(x)
    assert torch.equal(cell(x, None)[0], output)
    assert torch.equal(output, cell(x, cell.zero_state(3, like=x))[0])
    expected = ref(x)
    torch.testing.assert_close(output, expected[0] if ours_class is LSTMCell else expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ours_class, theirs_class", ALL_CELLS, ids=["lstm", "rnn", "gru"])
def test_a_cell_of_no_units_is_built_as_pytorch_builds_it(ours_class, theirs_class):
    """``LSTMCell(28, 0)`` was a ZeroDivisionError in its initialisation; nn.LSTMCell(28, 0) builds an empty cell."""
    cell, ref = ours_class(28, 0), theirs_class(28, 0)
    assert [p.shape for p in cell.parameters()] == [p.shape for p in ref.parameters()]
    output, _ = cell(torch.randn(2, 28))
    assert output.shape == (2, 0)
