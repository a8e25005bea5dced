"""The fast path's matrix products (bptt.py's ``linear``), and which library computes them on a CPU.

PyTorch's ``F.linear`` multiplies float32 matrices with MKL on these CPUs; ``nn.LSTM`` uses oneDNN,
reached from Python only through a private op. Which one is faster depends on the processor:

    AMD EPYC Zen 3 (2 threads)   the fast path's training step 1.44-1.51x nn.LSTM with oneDNN, 1.26-1.38x with MKL
    AMD EPYC Zen 4 (2 threads)   per-row products about equal; the weight gradient MKL 3.4 ms, oneDNN 4.2
    AMD EPYC Zen 5 (2 threads)   oneDNN about 1.9x faster for both in a prototype (a 128x156x512
                                 product: 113 us against 215; the weight gradient 3.4 ms against 7.0)

That pattern has one cause: on AMD processors MKL runs its AVX2 code, oneDNN its AVX-512 code where
the processor has it. A Zen 3 has no AVX-512; a Zen 4 computes AVX-512 in two 256-bit halves, so the
two codes run at about one speed; a Zen 5 (family 26) computes it at full width, twice as fast.

``use_onednn``, the choice, is therefore made from the processor, once, when this module is imported:
True on an AMD of family 26 or later with AVX-512 (``onednn_is_faster``), where every float32 product
on a CPU goes to oneDNN; False elsewhere (MKL, ``F.linear``). A program may set it either way; the
benchmark times the fast path with both libraries, as two rows of its table. The choice is not
measured at run time: the two libraries round differently, and an exact ``--resume`` (or
``--deterministic``) compares the bits of runs made in different processes. (Timing both libraries at
the first use of each shape, with a 1.5x margin, was tried: on a machine shared with other work the
same shape measured 0.9x to 2.7x from one process to the next, and an exact resume failed 3 times in
3.) tests/test_bptt.py checks that both compute the same, to float rounding.
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


def cpu_fields() -> dict[str, str]:
    """The first processor's fields in Linux's /proc/cpuinfo ('vendor_id', 'cpu family', 'model',
    'model name', 'flags', ...), or {} where there is no such file."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:  # up to the blank line after the first processor (the file has one block per core)
                if not line.strip():
                    break
                key, colon, value = line.partition(":")
                if colon:
                    fields[key.strip()] = value.strip()
    except (OSError, UnicodeDecodeError):
        return {}
    return fields


def onednn_is_faster(cpu: dict[str, str]) -> bool:
    """Whether oneDNN multiplies float32 matrices clearly faster than MKL on this processor (``cpu``:
    ``cpu_fields()``): an AMD of family 26 (Zen 5) or later with AVX-512 (the module docstring)."""
    family = cpu.get("cpu family", "")
    return (cpu.get("vendor_id") == "AuthenticAMD" and family.isascii() and family.isdigit() and int(family) >= 26
            and "avx512f" in cpu.get("flags", "").split())


ONEDNN_LINEAR = _onednn_linear()
use_onednn = ONEDNN_LINEAR is not None and onednn_is_faster(cpu_fields())  # True: float32 CPU products by oneDNN


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
