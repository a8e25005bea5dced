"""A GRU cell, written out by hand: the LSTM's younger, leaner relative (Cho et al., 2014).

Same conventions as ``torch.nn.GRUCell``: same parameter names, shapes, gate order (r, z, n)
and initialisation, so a state dict moves between the two. One call reads one row::

    output, h = cell(input_, h)

The equations (PyTorch-docs notation; ``*`` the element-wise product):

    (1) gates_x = W_ih x_t + b_ih                    the input's share of all three
    (2) gates_h = W_hh h_{t-1} + b_hh                the previous state's share
    (3) r_t = sigma(r_x + r_h)                       reset gate: how much of h_{t-1} the candidate sees
    (4) z_t = sigma(z_x + z_h)                       update gate: how much of h_{t-1} to keep
    (5) n_t = tanh(n_x + r_t * n_h)                  candidate state
    (6) h_t = (1 - z_t) * n_t + z_t * h_{t-1}        new hidden state

where (r_x, z_x, n_x) and (r_h, z_h, n_h) are the three consecutive blocks of H rows of
``gates_x`` and ``gates_h``. Like the LSTM's cell state, h_t is a gated mix of the old state
and a new candidate, so gradients pass back through ``z_t * h_{t-1}`` without being squashed
by a tanh at every step. It has no separate memory c and no output gate.

Shapes: B batch, I input features, H hidden units.
"""

import math

import torch
from torch import Tensor, nn

from .cell import check_step


class GRUCell(nn.Module):
    """One GRU step: ``output, h = cell(input_, h)``; the state is ``h`` alone."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        H, I = hidden_size, input_size
        self.weight_ih = nn.Parameter(torch.empty(3 * H, I))  # rows: W_ir | W_iz | W_in
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))  # rows: W_hr | W_hz | W_hn
        self.bias_ih = nn.Parameter(torch.empty(3 * H))
        self.bias_hh = nn.Parameter(torch.empty(3 * H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as in ``nn.GRUCell``."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0  # H = 0: no weights to draw
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def zero_state(self, batch_size: int, like: Tensor) -> Tensor:
        """All-zero ``h`` (B, H), on the device and dtype of ``like``."""
        return like.new_zeros(batch_size, self.hidden_size)

    def forward(self, input_: Tensor, state: Tensor | None = None,
                records: list | None = None) -> tuple[Tensor, Tensor]:
        """Read one row ``input_`` (B, I) and return ``(h_t, h_t)``; ``state`` None means all zeros.

        ``records``: trace.py passes a list, to which the step adds a dict of its tensors; training
        passes nothing."""
        if state is None:  # the first row, as nn.GRUCell takes it: all zeros
            state = self.zero_state(input_.shape[0], like=input_)
        h_prev = state  # (B, H)
        check_step(self, input_, h_prev)  # a state of another batch or size would broadcast: refused

        gates_x = input_ @ self.weight_ih.T + self.bias_ih  # (1) (B, 3H)
        gates_h = h_prev @ self.weight_hh.T + self.bias_hh  # (2) (B, 3H)
        r_x, z_x, n_x = gates_x.chunk(3, dim=1)  # 3 x (B, H)
        r_h, z_h, n_h = gates_h.chunk(3, dim=1)  # 3 x (B, H)

        r_t = torch.sigmoid(r_x + r_h)  # (3) (B, H)
        z_t = torch.sigmoid(z_x + z_h)  # (4) (B, H)
        n_t = torch.tanh(n_x + r_t * n_h)  # (5) (B, H)
        h_t = (1 - z_t) * n_t + z_t * h_prev  # (6) (B, H)

        if records is not None:
            records.append(dict(r=r_t, z=z_t, n=n_t, h=h_t))
        return h_t, h_t

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
