"""Weights from the seeds' TensorFlow model, in this project's layout.

TensorFlow 1.x's ``BasicLSTMCell(H)`` keeps one ``kernel`` and one ``bias``:

    kernel  (I + H, 4H)   multiplies the concatenation [x_t, h_{t-1}] from the right
    bias    (4H,)
    gate_inputs = concat([x_t, h_{t-1}], 1) @ kernel + bias     (B, 4H), blocks in order i, j, f, o
    c_t = c_{t-1} * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)
    h_t = tanh(c_t) * sigmoid(o)

``forget_bias`` is not a weight: the cell adds it at run time (1.0 in every seed). PyTorch's
layout, which cell.py follows, differs in three ways:

    - the weights are split by what they multiply, and transposed:
      weight_ih (4H, I) = kernel[:I].T and weight_hh (4H, H) = kernel[I:].T;
    - the gate blocks come in the order i, f, g, o: TensorFlow's j (the candidate) is our g,
      so the blocks (i, j, f, o) are reordered to (i, f, j, o);
    - there are two biases, bias_ih and bias_hh, that are always added together: TensorFlow's
      one bias goes into bias_ih (reordered the same way) and bias_hh is zero.

Our ``LSTMCell(forget_bias=...)`` adds the forget bias at run time, as TensorFlow does, so the
converted cell computes exactly what the TensorFlow cell computed. The seeds' output layer,
``logits = outputs[-1] @ W_out + b_out`` with W_out (H, K), is ``head.weight = W_out.T``.
"""

import numpy as np
import torch
from torch import Tensor

from .model import LSTMClassifier

TORCH_ORDER = (0, 2, 1, 3)  # TensorFlow's blocks (i, j, f, o), taken in the order i, f, j (= g), o


def reorder_blocks(array: np.ndarray, axis: int) -> np.ndarray:
    """TensorFlow's gate blocks (i, j, f, o) along ``axis`` -> PyTorch's (i, f, g=j, o)."""
    blocks = np.split(np.asarray(array), 4, axis=axis)
    return np.concatenate([blocks[k] for k in TORCH_ORDER], axis=axis)


def basic_lstm_cell_to_torch(kernel: np.ndarray, bias: np.ndarray, input_size: int) -> dict[str, Tensor]:
    """A state dict for ``LSTMCell`` (or ``nn.LSTMCell``, after adding the forget bias to the f
    block of ``bias_ih``) from a BasicLSTMCell's kernel (I + H, 4H) and bias (4H,)."""
    kernel, bias = np.asarray(kernel), np.asarray(bias)
    if kernel.ndim != 2 or kernel.shape[1] % 4 or bias.shape != (kernel.shape[1],):
        raise ValueError(f"expected kernel (I + H, 4H) and bias (4H,), got {kernel.shape} and {bias.shape}")
    H = kernel.shape[1] // 4
    if kernel.shape[0] != input_size + H:
        raise ValueError(f"kernel has {kernel.shape[0]} rows; expected input_size + H = {input_size} + {H}")
    kernel = reorder_blocks(kernel, axis=1)  # (I + H, 4H), blocks i, f, g, o
    return {
        "weight_ih": torch.from_numpy(kernel[:input_size].T.copy()),  # (4H, I)
        "weight_hh": torch.from_numpy(kernel[input_size:].T.copy()),  # (4H, H)
        "bias_ih": torch.from_numpy(reorder_blocks(bias, axis=0).copy()),  # (4H,)
        "bias_hh": torch.zeros(4 * H, dtype=torch.from_numpy(bias).dtype),  # (4H,): TensorFlow has one bias
    }


def seed_model(kernel: np.ndarray, bias: np.ndarray, out_weights: np.ndarray, out_biases: np.ndarray,
               forget_bias: float = 1.0) -> LSTMClassifier:
    """The seeds' whole model (raw rows, no projection, pixels in [0, 1]) from its four TensorFlow
    arrays: the cell's kernel and bias, and the output layer's W_out (H, K) and b_out (K,)."""
    kernel, out_weights, out_biases = np.asarray(kernel), np.asarray(out_weights), np.asarray(out_biases)
    H = kernel.shape[1] // 4 if kernel.ndim == 2 else 0  # the cell's units, from its kernel (I + H, 4H)
    if out_weights.ndim != 2 or out_weights.shape[0] != H or out_biases.shape != out_weights.shape[1:]:
        # W_out transposed (K, H) was read as H = K, and the kernel then refused for an input size it did not have
        raise ValueError(f"expected W_out (H, K) and b_out (K,) for the kernel's H = {H}, got {out_weights.shape} "
                         f"and {out_biases.shape}")
    K, input_size = out_weights.shape[1], kernel.shape[0] - H
    model = LSTMClassifier(hidden_size=H, forget_bias=forget_bias, normalize=False, num_classes=K,
                           input_size=input_size)
    dtype = model.head.weight.dtype
    cell = basic_lstm_cell_to_torch(kernel, bias, input_size)
    state = {f"cell.{name}": tensor.to(dtype) for name, tensor in cell.items()}
    state["head.weight"] = torch.from_numpy(np.asarray(out_weights).T.copy()).to(dtype)  # (K, H)
    state["head.bias"] = torch.from_numpy(np.asarray(out_biases).copy()).to(dtype)  # (K,)
    model.load_state_dict(state)
    return model
