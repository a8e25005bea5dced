"""The fast path's matrix products (bptt.py's ``linear``), and which library computes them on a CPU.

PyTorch's ``F.linear`` multiplies float32 matrices with MKL on these CPUs; ``nn.LSTM`` uses oneDNN,
reached from Python only through a private op. Which one is faster depends on the processor:

    AMD EPYC Zen 4 (2 threads)   per-row products about equal; the weight gradient MKL 3.4 ms, oneDNN 4.2
    AMD EPYC Zen 5 (2 threads)   oneDNN about 1.9x faster for both in a prototype (a 128x156x512
                                 product: 113 us against 215; the weight gradient 3.4 ms against 7.0)

``use_onednn = False`` (the default): every product goes to MKL (``F.linear``). ``use_onednn = True``:
every float32 product on a CPU goes to oneDNN (try it on a Zen 5; the benchmark times the fast path
both ways, as two rows of its table). The choice is a setting, not measured at run time: the two
libraries round differently, and an exact ``--resume`` (or ``--deterministic``) compares the bits of
runs made in different processes. (Timing both libraries at the first use of each shape, with a
1.5x margin, was tried: on a machine shared with other work the same shape measured 0.9x to 2.7x
from one process to the next, and an exact resume failed 3 times in 3.) tests/test_bptt.py checks
that both compute the same, to float rounding.
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def _onednn_linear():
    """PyTorch's private oneDNN linear op, or None where this build lacks it."""
    try:
        return torch.ops.mkldnn._linear_pointwise if torch.backends.mkldnn.is_available() else None
    except (AttributeError, RuntimeError):
        return None


ONEDNN_LINEAR = _onednn_linear()
use_onednn = False  # True: the float32 products on a CPU go to oneDNN (above)


def linear(input_: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input_ @ weight.T + bias``: input_ (N, in), weight (out, in), bias (out,) -> (N, out)."""
    if onednn_computes(input_):
        return onednn(input_, weight, bias)
    return F.linear(input_, weight, bias)


def onednn_computes(input_: Tensor) -> bool:
    """Whether ``linear`` gives a product of ``input_`` to oneDNN: asked for, float32 on a CPU, and this
    PyTorch has the op."""
    return use_onednn and ONEDNN_LINEAR is not None and input_.device.type == "cpu" and input_.dtype == torch.float32


def onednn(input_: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    # oneDNN needs a contiguous weight or the .t() of one: a sliced weight takes a path ~1000x slower
    return ONEDNN_LINEAR(input_.contiguous(), weight, bias, "none", [], "")
