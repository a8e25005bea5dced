"""The fast path's matrix products (bptt.py's ``linear``), and which library computes them on a CPU.

PyTorch's ``F.linear`` multiplies float32 matrices with MKL on these CPUs; ``nn.LSTM`` uses oneDNN,
reached from Python only through a private op. Which one is faster depends on the processor:

    AMD EPYC Zen 4 (2 threads)   per-row products about equal; the weight gradient MKL 3.4 ms, oneDNN 4.2
    AMD EPYC Zen 5 (2 threads)   oneDNN about 1.9x faster for both (a 128x156x512 product: 113 us
                                 against 215; the weight gradient 3.4 ms against 7.0)

By default (``use_onednn = False``) every product goes to MKL (``F.linear``), in every process:
the two libraries round differently, and an exact ``--resume`` (or ``--deterministic``) compares the
bits of runs made in different processes. ``use_onednn = True`` gives every float32 CPU product to
oneDNN (try it on a Zen 5). ``use_onednn = None`` times each product shape once, at its first use,
with both libraries, and gives it to oneDNN only if oneDNN ran it at least ``MARGIN`` times faster.
That choice is NOT the same from one process to the next on a machine shared with other work: on
the 2-core Zen 4 above, with a test suite running beside it, the ratio measured for the same shape
went from 0.9x to 2.7x between processes, and an exact resume failed 3 times in 3. So it is never
the default. tests/test_bptt.py checks that the three compute the same, to float rounding.
"""

import time

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
use_onednn: bool | None = False  # False: MKL, True: oneDNN, None: measured for each shape (above; not reproducible)
MARGIN = 1.5  # how much faster oneDNN must be for a product to go to it
ROUNDS = 5  # timings of each library per shape, interleaved; the best counts
chosen: dict[tuple, bool] = {}  # product shape -> whether it goes to oneDNN, decided at its first use


def linear(input_: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input_ @ weight.T + bias``: input_ (N, in), weight (out, in), bias (out,) -> (N, out)."""
    if onednn_computes(input_, weight, bias):
        return onednn(input_, weight, bias)
    return F.linear(input_, weight, bias)


def onednn_computes(input_: Tensor, weight: Tensor, bias: Tensor | None = None) -> bool:
    """Whether ``linear`` gives this product to oneDNN: float32 on a CPU, where this PyTorch has the op
    and ``goes_to_onednn`` says so."""
    return (ONEDNN_LINEAR is not None and input_.device.type == "cpu" and input_.dtype == torch.float32
            and goes_to_onednn(input_, weight, bias))


def onednn(input_: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    # oneDNN needs a contiguous weight or the .t() of one: a sliced weight takes a path ~1000x slower
    return ONEDNN_LINEAR(input_.contiguous(), weight, bias, "none", [], "")


def goes_to_onednn(input_: Tensor, weight: Tensor, bias: Tensor | None) -> bool:
    """``use_onednn`` if set; else whether oneDNN computed this shape of product ``MARGIN`` times faster
    than MKL, timed once per process (a few ms; the weight gradient's product about 0.1 s)."""
    if use_onednn is not None:
        return use_onednn
    key = (tuple(input_.shape), input_.stride(), tuple(weight.shape), weight.stride(), bias is None,
           torch.get_num_threads())
    if key not in chosen:
        mkl, dnn = best_seconds((F.linear, onednn), input_, weight, bias)
        chosen[key] = mkl > MARGIN * dnn
    return chosen[key]


def best_seconds(products: tuple, *operands: Tensor | None) -> list[float]:
    """The best of ``ROUNDS`` timings of each product on the operands, interleaved (a machine shared
    with other work changes speed from moment to moment), after one call each to warm up."""
    best = [float("inf")] * len(products)
    for round_ in range(ROUNDS + 1):
        for k, product in enumerate(products):
            start = time.perf_counter()
            product(*operands)
            if round_:  # the first call of each sets itself up (oneDNN makes its primitive)
                best[k] = min(best[k], time.perf_counter() - start)
    return best


def summary() -> str:
    """Where the products timed so far went, for the benchmark's report."""
    if use_onednn is not None or ONEDNN_LINEAR is None:
        return "oneDNN (products.use_onednn = True)" if use_onednn and ONEDNN_LINEAR is not None else \
            "F.linear (MKL), the default (products.use_onednn = None measures each shape)"
    faster, timed = sum(chosen.values()), len(chosen)
    if faster == 0:
        return f"F.linear (MKL) for all {timed} shapes timed (oneDNN was not {MARGIN}x faster for any)"
    if faster == timed:
        return f"oneDNN for all {timed} shapes timed ({MARGIN}x faster or more)"
    return f"oneDNN for {faster} of the {timed} shapes timed ({MARGIN}x faster or more), F.linear (MKL) for the others"
