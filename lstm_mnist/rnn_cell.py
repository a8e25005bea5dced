"""A plain (Elman) RNN cell, written out by hand: the cell the LSTM was invented to replace.

Same conventions as ``torch.nn.RNNCell`` (tanh non-linearity): same parameter names, shapes
and initialisation, so a state dict moves between the two. One call reads one row::

    output, h = cell(input_, h)

Its one equation (x_t the input row, h the hidden state):

    (1) h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

Every step multiplies the gradient flowing back by W_hh and by tanh's slope (at most 1), so
over 28 rows it tends to shrink towards nothing (or, with large weights, to blow up): seed
004's "vanishing or exploding gradient". The LSTM's additive cell state (its equation (6))
is the way round it; ``python scripts/rnn_vs_lstm.py`` measures both.

Shapes: B batch, I input features, H hidden units.
"""

import math

import torch
from torch import Tensor, nn

from .cell import check_step


class RNNCell(nn.Module):
    """One plain RNN step: ``output, h = cell(input_, h)``; the state is ``h`` alone."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # W_ih (H, I)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # W_hh (H, H)
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as in ``nn.RNNCell``."""
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
        if state is None:  # the first row, as nn.RNNCell takes it: all zeros
            state = self.zero_state(input_.shape[0], like=input_)
        h_prev = state  # (B, H)
        check_step(self, input_, h_prev)  # a state of another batch or size would broadcast: refused

        h_t = torch.tanh(input_ @ self.weight_ih.T + self.bias_ih + h_prev @ self.weight_hh.T + self.bias_hh)  # (1) (B, H)

        if records is not None:
            records.append(dict(h=h_t))
        return h_t, h_t

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
