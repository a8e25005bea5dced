"""The same classifier built on PyTorch's own LSTM modules, for checking and benchmarking.

``FusedLSTMClassifier`` runs ``nn.LSTM`` (one fused kernel: oneDNN on the CPU, cuDNN on a
GPU); ``LSTMCellLoopClassifier`` steps ``nn.LSTMCell`` over the rows in a Python loop. Both
are built from an ``LSTMClassifier`` and copy its weights, folding ``forget_bias`` into the
forget gate's bias, so all three compute the same logits. The tests use them to check the
hand-written cell; the benchmark uses them as the yardstick. They are not the model.
"""

import torch
from torch import Tensor, nn

from .cell import LSTMCell
from .model import PIXEL_MEAN, PIXEL_STD, LSTMClassifier


def _copy_common(target: nn.Module, model: LSTMClassifier) -> None:
    config = model.config
    if config.cell != "lstm":
        raise ValueError(f"the reference models are LSTMs; this model's cell is {config.cell!r}")
    target.normalize = config.normalize
    target.projection = None
    if config.input_projection:
        target.projection = nn.Linear(config.input_size, config.hidden_size)
        target.projection.load_state_dict(model.projection.state_dict())
    target.head = nn.Linear(config.hidden_size, config.num_classes)
    target.head.load_state_dict(model.head.state_dict())


def fold_forget_bias(state: dict[str, Tensor], forget_bias: float) -> dict[str, Tensor]:
    """A copy of an LSTM cell's parameters for ``nn.LSTMCell`` / ``nn.LSTM``, which have no forget
    bias: ``forget_bias`` added to the forget gate's block of ``bias_ih`` (gate order i, f, g, o:
    the second block of H)."""
    state = {name: tensor.detach().clone() for name, tensor in state.items()}
    H = state["weight_hh"].size(1)
    state["bias_ih"][H : 2 * H] += forget_bias
    return state


def reference_cell(cell: LSTMCell) -> nn.LSTMCell:
    """An ``nn.LSTMCell`` that computes what ``cell`` does (same weights, forget bias folded in)."""
    reference = nn.LSTMCell(cell.input_size, cell.hidden_size).to(cell.weight_ih.dtype)
    reference.load_state_dict(fold_forget_bias(cell.state_dict(), cell.forget_bias))
    return reference


def _copy_cell(model: LSTMClassifier) -> dict[str, Tensor]:
    return fold_forget_bias(model.cell.state_dict(), model.config.forget_bias)


class FusedLSTMClassifier(nn.Module):
    def __init__(self, model: LSTMClassifier):
        super().__init__()
        _copy_common(self, model)
        self.lstm = nn.LSTM(model.cell.input_size, model.config.hidden_size, batch_first=True)
        state = _copy_cell(model)
        with torch.no_grad():
            for name, tensor in state.items():
                getattr(self.lstm, f"{name}_l0").copy_(tensor)

    def forward(self, images: Tensor) -> Tensor:
        x = images.reshape(images.size(0), -1, images.size(-1))  # (B, T, I)
        x = (x - PIXEL_MEAN) / PIXEL_STD if self.normalize else x
        x = self.projection(x) if self.projection is not None else x
        outputs, _ = self.lstm(x)  # (B, T, H)
        return self.head(outputs[:, -1])  # (B, K)


class LSTMCellLoopClassifier(nn.Module):
    def __init__(self, model: LSTMClassifier):
        super().__init__()
        _copy_common(self, model)
        self.cell = nn.LSTMCell(model.cell.input_size, model.config.hidden_size)
        self.cell.load_state_dict(_copy_cell(model))

    def forward(self, images: Tensor) -> Tensor:
        x = images.reshape(images.size(0), -1, images.size(-1))  # (B, T, I)
        x = (x - PIXEL_MEAN) / PIXEL_STD if self.normalize else x
        x = self.projection(x) if self.projection is not None else x
        h = c = x.new_zeros(x.size(0), self.cell.hidden_size)  # (B, H)
        for input_ in x.unbind(1):
            h, c = self.cell(input_, (h, c))
        return self.head(h)  # (B, K)
