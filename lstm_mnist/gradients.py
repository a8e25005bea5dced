"""How much of the loss gradient reaches each row: seed 004's vanishing gradient, measured.

Training moves a weight by the gradient of the loss, and the only way the loss can learn from
row t is through ``d loss / d x_t``: the gradient with respect to what the cell read at step
t. A plain RNN passes that gradient back through ``tanh`` and ``W_hh`` once per row, so it
shrinks (or blows up) geometrically on its way from the last row to the first; the LSTM
carries it along the cell state ``c``, scaled by the forget gate only.

``gradient_per_row`` returns, for each of the T rows, the mean over a batch of the norm
``|| d loss_b / d x_{b,t} ||`` (loss_b the cross-entropy of image b alone, x_{b,t} the row
the cell read: standardised, and projected if the model does so).
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from .model import LSTMClassifier


def gradient_per_row(model: LSTMClassifier, images: Tensor, labels: Tensor) -> Tensor:
    """The mean gradient norm reaching each row, (T,), for images (B, T, I) and labels (B,)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        x = model.rows(images)  # (B, T, I): what the cell reads
    x.requires_grad_(True)  # the rows, as leaves: their gradient is what reaches each step
    loss = F.cross_entropy(model.read(x), labels, reduction="sum")  # sum: each image's own gradient
    (grad,) = torch.autograd.grad(loss, x)  # (B, T, I)
    model.train(was_training)
    return grad.norm(dim=2).mean(dim=0)  # (T,)
