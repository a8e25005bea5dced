"""The LSTM cell, written out by hand: the file to open first.

One call of the cell reads one input row and updates the state ``(h, c)``, exactly the
step that TensorFlow's ``BasicLSTMCell`` takes inside the seeds' ``static_rnn`` loop::

    output, state = cell(input_, state)

The parameters, their shapes, the gate order (i, f, g, o) and the initialisation are those
of ``torch.nn.LSTMCell``, so a state dict moves between the two in both directions and the
PyTorch documentation of ``nn.LSTMCell`` describes this cell too. The one addition is
``forget_bias``: the constant that TensorFlow's ``BasicLSTMCell`` adds to the forget gate's
pre-activation (1.0 in every seed), which makes the cell keep its memory by default early
in training. With ``forget_bias=0.0`` the cell computes exactly what ``nn.LSTMCell`` does.

The equations (PyTorch-docs notation; x_t is the input row, ``*`` the element-wise product,
sigma the logistic sigmoid):

    (1) gates = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       all four pre-activations at once
    (2) i_t   = sigma(i_pre)                                input gate: how much to write
    (3) f_t   = sigma(f_pre + forget_bias)                  forget gate: how much to keep
    (4) g_t   = tanh(g_pre)                                 candidate values to write
    (5) o_t   = sigma(o_pre)                                output gate: how much to show
    (6) c_t   = f_t * c_{t-1} + i_t * g_t                   new cell state (the memory)
    (7) h_t   = o_t * tanh(c_t)                             new hidden state (the output)

where (i_pre, f_pre, g_pre, o_pre) are the four consecutive blocks of H columns of ``gates``,
which is (B, 4H): columns 0..H-1 are i_pre, H..2H-1 f_pre, and so on.

Equation (1) is written for one input column vector x_t, as in the PyTorch docs; the code
holds a batch of B rows, one per image, ``input_`` (B, I), and computes the same thing for all
of them at once as ``input_ @ W_ih.T`` (B, 4H): row b of it is W_ih x_t for image b.

One hook for experiments (the notebook's exercises): ``cell.gate_hook``, None by default. Set it
to a callable and, at every step, it receives the dict ``{"i": i_t, "f": f_t, "g": g_t, "o": o_t}``
(each (B, H)) after equations (2)-(5) and returns a dict of the same keys and shapes, changed or
not, whose values equations (6) and (7) then use (and the trace records). ``cell.gate_hook =
lambda gates: gates | {"f": torch.zeros_like(gates["f"])}`` makes the cell forget everything at
every row. Training never sets it.

``forward`` computes (1), then calls ``cell_equations`` (below) for (2)-(7); bptt.py calls the same
function, so the equations exist once. Shapes: B batch, I input features (28 pixels of a row), H
hidden units.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn


class LSTMState(NamedTuple):
    """The recurrent state carried from one row to the next."""

    h: Tensor  # (B, H) hidden state: what the cell shows the next layer
    c: Tensor  # (B, H) cell state: the memory the gates read and write


class LSTMCell(nn.Module):
    """One LSTM step: ``output, state = cell(input_, state)``, output being the new ``h``."""

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.forget_bias = forget_bias
        H, I = hidden_size, input_size
        self.weight_ih = nn.Parameter(torch.empty(4 * H, I))  # rows: W_ii | W_if | W_ig | W_io
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H))  # rows: W_hi | W_hf | W_hg | W_ho
        self.bias_ih = nn.Parameter(torch.empty(4 * H))
        self.bias_hh = nn.Parameter(torch.empty(4 * H))
        self.gate_hook = None  # see the module docstring: experiments only
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as in ``nn.LSTMCell``."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0  # H = 0: no weights to draw
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def zero_state(self, batch_size: int, like: Tensor) -> LSTMState:
        """All-zero ``(h, c)`` for a batch, on the device and dtype of ``like``
        (TensorFlow's ``cell.zero_state(batch_size, dtype)``)."""
        zeros = like.new_zeros(batch_size, self.hidden_size)  # (B, H)
        return LSTMState(h=zeros, c=zeros)

    def forward(self, input_: Tensor, state: LSTMState | None = None,
                records: list | None = None) -> tuple[Tensor, LSTMState]:
        """Read one row ``input_`` (B, I) and return ``(h_t, LSTMState(h_t, c_t))``; ``state`` None means
        all zeros, as in ``nn.LSTMCell``.

        ``records``: trace.py passes a list, to which the step adds a dict of its tensors; training
        passes nothing."""
        if state is None:  # the first row, as nn.LSTMCell takes it: all zeros
            state = self.zero_state(input_.shape[0], like=input_)
        h_prev, c_prev = state  # (B, H), (B, H)
        check_step(self, input_, h_prev, c_prev)  # a state of another batch or size would broadcast: refused
        gates = input_ @ self.weight_ih.T + self.bias_ih + h_prev @ self.weight_hh.T + self.bias_hh  # (1) (B, 4H)
        step = cell_equations(gates, c_prev, self.forget_bias, self.gate_hook)  # (2)-(7): gates, then c_t, h_t

        if records is not None:
            records.append(dict(gates=gates, **step._asdict()))  # i, f, g, o, c, h
        return step.h, LSTMState(h=step.h, c=step.c)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, forget_bias={self.forget_bias}"


class CellStep(NamedTuple):
    """What equations (2)-(7) compute at one step, each (B, H)."""

    i: Tensor  # input gate
    f: Tensor  # forget gate
    g: Tensor  # candidate values
    o: Tensor  # output gate
    c: Tensor  # new cell state c_t
    h: Tensor  # new hidden state h_t


def cell_equations(gates: Tensor, c_prev: Tensor, forget_bias: float, gate_hook=None, tanh=torch.tanh) -> CellStep:
    """Equations (2)-(7): from the pre-activations ``gates`` (B, 4H) of equation (1) and the
    previous cell state ``c_prev`` (B, H) to the gates and the new state. ``LSTMCell.forward``
    calls it, and so does the sequence-at-once path in bptt.py: the equations exist once.
    ``tanh``: bptt.py passes the same function computed as 2 sigma(2x) - 1, faster on CPUs."""
    i_pre, f_pre, g_pre, o_pre = gates.chunk(4, dim=1)  # 4 x (B, H)

    i_t = torch.sigmoid(i_pre)  # (2) (B, H)
    f_t = torch.sigmoid(f_pre + forget_bias)  # (3) (B, H)
    g_t = tanh(g_pre)  # (4) (B, H)
    o_t = torch.sigmoid(o_pre)  # (5) (B, H)
    if gate_hook is not None:  # an experiment may replace the gates (module docstring)
        changed = gate_hook({"i": i_t, "f": f_t, "g": g_t, "o": o_t})
        check_hooked_gates(changed, like=i_t)  # what (6) and (7) can read, or a plain error
        i_t, f_t, g_t, o_t = changed["i"], changed["f"], changed["g"], changed["o"]

    c_t = f_t * c_prev + i_t * g_t  # (6) (B, H)
    h_t = o_t * tanh(c_t)  # (7) (B, H)
    return CellStep(i=i_t, f=f_t, g=g_t, o=o_t, c=c_t, h=h_t)


def check_step(cell: nn.Module, input_: Tensor, *state: Tensor) -> None:
    """Refuse a step the equations would broadcast into an answer for another batch without a word, as
    ``nn.LSTMCell`` refuses it: a state of one row, (1, H) or (H,), for a batch of B; one of H = 1; one row (I,)
    of input for a batch's state; a state given as one tensor (B, H), which ``h, c = state`` unpacks into its
    first two rows. Every cell calls it at every step: shape comparisons only, the message on the error path."""
    B = input_.shape[0] if isinstance(input_, Tensor) and input_.dim() == 2 else -1
    if B >= 0 and input_.shape[1] == cell.input_size and all(
            isinstance(s, Tensor) and s.shape == (B, cell.hidden_size) for s in state):
        return

    def shape(t) -> str:
        return str(tuple(t.shape)) if isinstance(t, Tensor) else type(t).__name__

    states = "LSTMState(h, c), each" if isinstance(cell, LSTMCell) else "h"
    raise ValueError(f"{type(cell).__name__} expected input_ (B, {cell.input_size}) and {states} "
                     f"(B, {cell.hidden_size}), the same B; got input_ {shape(input_)} and "
                     f"{', '.join(shape(t) for t in state)}; for the first row: no state, or "
                     "cell.zero_state(B, like=input_)")


def check_hooked_gates(changed, like: Tensor) -> None:
    """Refuse what a ``gate_hook`` returned unless equations (6) and (7) and the trace can read it as the
    gates: a dict with the keys "i", "f", "g" and "o", each a tensor of ``like``'s shape (B, H) (to mask
    units, multiply: ``gates["f"] * mask``). Only a cell with a hook calls it."""
    if isinstance(changed, dict) and all(isinstance(changed.get(key), Tensor) and changed[key].shape == like.shape
                                         for key in "ifgo"):
        return
    if isinstance(changed, dict):
        got = ", ".join(f"{key}: " + (str(tuple(changed[key].shape)) if isinstance(changed.get(key), Tensor)
                                      else "missing" if key not in changed else type(changed[key]).__name__)
                        for key in "ifgo")
    else:
        got = type(changed).__name__ + (" (does the hook end with return gates?)" if changed is None else "")
    raise TypeError(f"cell.gate_hook must return the dict of gates it received, changed or not: the keys i, f, g "
                    f"and o, each a tensor of shape {tuple(like.shape)}; got {got}")
