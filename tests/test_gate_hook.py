"""The cell's one hook for experiments (cell.gate_hook): the values it returns are the gates
equations (6) and (7) use, and without it nothing changes."""

import pytest
import torch

from lstm_mnist import LSTMClassifier
from lstm_mnist.trace import trace


def test_an_identity_hook_changes_nothing_and_sees_every_step():
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    images = torch.rand(3, 28, 28)
    model.fast = False  # the readable loop, which a hook also takes (bptt.py's path has no hook)
    plain = model(images)
    seen = []
    model.cell.gate_hook = lambda gates: seen.append(sorted(gates)) or gates
    torch.testing.assert_close(model(images), plain, rtol=0, atol=0)
    assert seen == [["f", "g", "i", "o"]] * 28  # once per row


def test_the_hooks_gates_are_the_ones_the_cell_uses():
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    image = torch.rand(28, 28)
    row = 0

    def zero_f_at_row_10(gates):
        nonlocal row
        row += 1
        return gates | {"f": torch.zeros_like(gates["f"])} if row - 1 == 10 else gates

    model.cell.gate_hook = zero_f_at_row_10
    t = trace(model, image)
    assert float(t.steps["f"][10].abs().max()) == 0.0 and float(t.steps["f"][9].min()) > 0
    torch.testing.assert_close(t.steps["c"][10], t.steps["i"][10] * t.steps["g"][10])  # (6) with f = 0
    torch.testing.assert_close(t.steps["h"][10], t.steps["o"][10] * torch.tanh(t.steps["c"][10]))  # (7)

    model.cell.gate_hook = None
    untouched = trace(model, image)
    torch.testing.assert_close(untouched.steps["c"][:10], t.steps["c"][:10])  # the same until row 10
    assert not torch.allclose(untouched.steps["c"][10], t.steps["c"][10])


@pytest.mark.parametrize("returned, said", [
    (lambda gates: None, "got NoneType (does the hook end with return gates?)"),
    (lambda gates: {"i": gates["i"]}, "got i: (3, 8), f: missing, g: missing, o: missing"),
    (lambda gates: gates | {"f": torch.zeros(8)}, "got i: (3, 8), f: (8,), g: (3, 8), o: (3, 8)"),
    (lambda gates: gates | {"f": 0.0}, "got i: (3, 8), f: float, g: (3, 8), o: (3, 8)"),
], ids=["none", "keys-missing", "one-row", "a-number"])
def test_a_hook_that_returns_no_gates_is_told_what_to_return(returned, said):
    """A hook that forgets ``return gates`` was "'NoneType' object is not subscriptable"; a gate of one row (H,)
    broadcast through equation (6) and made the trace's tensors of another shape, without a word."""
    model = LSTMClassifier(hidden_size=8)
    model.cell.gate_hook = returned
    with pytest.raises(TypeError, match="cell.gate_hook must return the dict of gates it received") as error:
        model(torch.rand(3, 28, 28))
    assert str(error.value).endswith(said)
