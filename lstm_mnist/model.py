"""The classifier: an LSTM reads a 28x28 digit one row at a time, a linear head names it.

This is the model of the TensorFlow tutorials this project reimplements (the README's
"seeds"): the image is a sequence of T = 28 rows of I = 28 pixels; the cell reads row 0,
then row 1, ... then row 27; the head maps the last output to one logit per digit::

    state = cell.zero_state(...)
    for input_ in inputs:
        output, state = cell(input_, state)
    logits = head(output)

Seeds 002 and 003 first project every row linearly from 28 to H features
(``input_projection=True``); the others feed the raw rows to the cell.

For comparison (seed 004's argument for the LSTM, measured by ``scripts/rnn_vs_lstm.py``),
``cell="rnn"`` puts a plain RNN cell (rnn_cell.py) in the LSTM's place and ``cell="gru"`` a GRU
(gru_cell.py); the loop and the head stay the same.

One addition to the seeds, on by default (``normalize=True``): the pixels, in [0, 1], are
standardised with the mean and standard deviation of MNIST's training images, so the cell
sees inputs of mean 0 and variance 1. It is what makes 3 epochs enough for 98%.

Shapes: B batch, T = 28 rows (time steps), I = 28 pixels per row, H hidden units,
K = 10 classes.
"""

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn
from torch.nn.modules import module as module_hooks

from . import bptt
from .cell import LSTMCell, LSTMState
from .config import Field
from .data import IMAGE_SIZE
from .gru_cell import GRUCell
from .rnn_cell import RNNCell

PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081  # over MNIST's 60,000 training images, pixels in [0, 1]
CELLS = ("lstm", "rnn", "gru")  # ModelConfig.cell: cell.py, rnn_cell.py, gru_cell.py
MAX_HIDDEN_SIZE = 2**20  # the largest H a checkpoint may claim: its weights can still be described (on the meta device)
FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # about 3.4e38: what the weights and the learning rate are held in


def finite_in_float32(v) -> bool:
    """Finite, and finite in float32 too (where the model computes with it)."""
    return math.isfinite(v) and abs(v) <= FLOAT32_MAX


FIELDS = {  # what ModelConfig's fields may hold (checkpoint.py's MODEL_SCHEMA is stricter: MNIST's sizes)
    "hidden_size": Field((int,), "a whole number >= 1", lambda v: v >= 1),
    "forget_bias": Field((int, float), "a finite number", finite_in_float32),
    "input_projection": Field((bool,), "True or False"),
    "normalize": Field((bool,), "True or False"),
    "num_classes": Field((int,), "a whole number >= 1", lambda v: v >= 1),
    "input_size": Field((int,), "a whole number >= 1", lambda v: v >= 1),
    "cell": Field((str,), f"one of {', '.join(CELLS)}", lambda v: v in CELLS),
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the model; stored in every checkpoint."""

    hidden_size: int = 128  # H
    forget_bias: float = 1.0  # added to the forget gate's pre-activation, as BasicLSTMCell does
    input_projection: bool = False  # a linear I -> H layer before the cell (seeds 002 and 003)
    normalize: bool = True  # standardise pixels with MNIST's mean and std (the seeds did not)
    num_classes: int = 10  # K
    input_size: int = IMAGE_SIZE  # I, pixels per row
    cell: str = "lstm"  # one of CELLS: the LSTM, or a plain RNN or a GRU to compare it with

    def __post_init__(self) -> None:
        """Refuse at once, by the field's name, what describes no model: hidden_size=0 was a ZeroDivisionError
        in the cell's initialisation, 128.0 a TypeError inside torch.empty, input_projection="False" a projection
        (the string is true), forget_bias=nan logits of NaN. A TypeError for the type, a ValueError for the value."""
        for name, field in FIELDS.items():
            value = getattr(self, name)
            if not field.has_type(value):
                raise TypeError(f"{name} must be {field.meaning}, got {value!r} ({type(value).__name__})")
            if not field.fits(value):
                raise ValueError(f"{name} must be {field.meaning}, got {value!r}")


class RecurrentClassifier(nn.Module):
    """Logits (B, K) from images (B, 28, 28) or (B, 1, 28, 28), read row by row by the cell that
    ``config.cell`` names (the LSTM by default; ``LSTMClassifier`` is the same class).

    Build it from a config, from fields, or both: ``RecurrentClassifier(ModelConfig(...))``,
    ``RecurrentClassifier(hidden_size=64)``, ``RecurrentClassifier(config, cell="gru")``."""

    def __init__(self, config: ModelConfig | None = None, **fields):
        super().__init__()
        if config is not None and not isinstance(config, ModelConfig):  # a dict, or hidden_size given by position
            raise TypeError(f"expected a ModelConfig or fields (hidden_size=64, ...), got {config!r:.60}")
        config = replace(config or ModelConfig(), **fields)  # ModelConfig checks every field
        self.config = config
        H = config.hidden_size
        cell_input_size = H if config.input_projection else config.input_size
        self.projection = nn.Linear(config.input_size, H) if config.input_projection else None  # I -> H, no activation
        if config.cell == "lstm":
            self.cell = LSTMCell(cell_input_size, H, forget_bias=config.forget_bias)
        elif config.cell == "rnn":
            self.cell = RNNCell(cell_input_size, H)  # forget_bias: the RNN has no gates
        else:
            self.cell = GRUCell(cell_input_size, H)  # forget_bias: the GRU has no forget gate
        self.head = nn.Linear(H, config.num_classes)  # H -> K
        # LSTM only. True: the whole sequence as one autograd node with the backward written by hand
        # (bptt.py; same numbers, half the operations). False: the readable loop with autograd, for
        # stepping through the cell during training and for the oracle tests.
        self.fast = True

    @classmethod
    def from_config(cls, config: ModelConfig) -> "RecurrentClassifier":
        return cls(config)

    def forward(self, images: Tensor) -> Tensor:
        x = self.rows(images)  # (B, T, I): what the cell reads
        return self.read(x)  # (B, K)

    def rows(self, images: Tensor) -> Tensor:
        """The rows the cell will read, (B, T, I) (or (B, T, H) after the input projection):
        the images, standardised if ``normalize``, projected if ``input_projection``."""
        if not isinstance(images, Tensor):  # a numpy array or a list: not the AttributeError of images.dim()
            raise TypeError(f"expected images as a torch.Tensor, got a {type(images).__name__}: "
                            "torch.as_tensor(images)")
        if images.dim() == 4 and images.size(1) == 1:
            images = images.squeeze(1)  # (B, 1, T, I) -> (B, T, I)
        if images.dim() != 3 or images.size(2) != self.config.input_size or images.size(1) == 0:  # T = 0: no output
            raise ValueError(
                f"expected images of shape (B, T, {self.config.input_size}) or "
                f"(B, 1, T, {self.config.input_size}), T >= 1, got {tuple(images.shape)}"
            )
        if not images.is_floating_point():  # torchvision's MNIST.data, uint8 0 to 255, would read 255 times too bright
            raise ValueError(f"expected pixels as floats in [0, 1], got {images.dtype}"
                             + (" (0 to 255?): pass images / 255" if images.dtype == torch.uint8 else ""))
        x = images  # (B, T, I), T rows of I pixels
        if self.config.normalize:
            x = (x - PIXEL_MEAN) / PIXEL_STD  # (B, T, I), mean 0 and std 1 over MNIST
        if self.projection is not None:
            x = self.projection(x)  # (B, T, H)
        return x

    def read(self, x: Tensor, records: list[dict] | None = None) -> Tensor:
        """The seeds' loop: the cell reads the rows ``x`` (B, T, I) in order; the head turns
        its last output into logits (B, K). Given a list as ``records``, the cell adds a dict of
        its tensors to it at every step (trace.py asks for them this way)."""
        # The fast path computes what LSTMCell's equations do, without calling the cell: a trace, an
        # experiment's gate_hook, a module hook on the cell, a cell of another class (a subclass with
        # other equations too) and torch.compile (train.py --compile; it fuses the loop on its own) take the loop,
        # as does torch.jit.trace (it records the operations run: the loop's are the same at every call).
        if (self.fast and records is None and not torch.compiler.is_compiling() and not torch.jit.is_tracing()
                and fast_path_computes(self.cell)):
            return self.head(bptt.last_output(self.cell, x))  # (B, K): the loop below, as one node (bptt.py)
        B = x.size(0)
        # Row t of every image in the batch is x[:, t, :]: this is all that the seeds'
        # transpose / reshape / split did. unbind hands out the T rows as views.
        inputs = x.unbind(dim=1)  # T tensors of (B, I) (or (B, H) after the projection)

        state = self.cell.zero_state(B, like=x)  # LSTM: LSTMState(h, c), each (B, H) zeros; RNN, GRU: h
        for input_ in inputs:
            output, state = self.cell(input_, state, records)  # output: (B, H)

        return self.head(output)  # (B, K): logits from the last output


def fast_path_computes(cell: nn.Module) -> bool:
    """Whether bptt.py computes exactly what ``cell`` would: an LSTMCell itself (a subclass may have
    other equations), with no gate_hook and no module hooks (bptt.py does not call the cell), outside
    torch.func's transforms (grad, vmap, jvp) and forward-mode AD (torch.autograd.forward_ad): bptt.py's
    backward is written for autograd alone."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")  # a backward hook too
    hooks = [getattr(cell, kind) for kind in kinds] + [getattr(module_hooks, "_global" + kind) for kind in kinds]
    return (type(cell) is LSTMCell and cell.gate_hook is None and not any(hooks) and not in_func_transform()
            and not in_forward_ad())


def in_forward_ad() -> bool:
    """Whether a ``torch.autograd.forward_ad.dual_level()`` is open (its tangents would be lost or refused
    by bptt.py); PyTorch says so only through a private variable, assumed absent where a version lacks it."""
    return getattr(torch.autograd.forward_ad, "_current_level", -1) >= 0


def in_func_transform() -> bool:
    """Whether a torch.func transform (grad, vmap, jvp, ...) is running: PyTorch says so only through a
    private function; where a version lacks it, none is assumed (and bptt.py's own error is seen)."""
    peek = getattr(getattr(torch._C, "_functorch", None), "peek_interpreter_stack", None)
    return peek is not None and peek() is not None


def count_parameters(config: ModelConfig) -> int:
    """How many numbers the model of ``config`` holds, counted without building it (so that an
    absurd size is refused before anything is allocated; a test checks it against the model). In
    Python integers: building even on the meta device overflows for a large enough ``hidden_size``."""
    H, I, K = config.hidden_size, config.input_size, config.num_classes
    blocks = {"lstm": 4, "gru": 3, "rnn": 1}[config.cell]  # blocks of H rows in weight_ih, weight_hh, the biases
    cell_input = H if config.input_projection else I
    projection = I * H + H if config.input_projection else 0
    return projection + blocks * H * (cell_input + H) + 2 * blocks * H + H * K + K


LSTMClassifier = RecurrentClassifier  # the name it had when it held only the LSTM


__all__ = ["CELLS", "IMAGE_SIZE", "PIXEL_MEAN", "PIXEL_STD", "LSTMClassifier", "count_parameters", "LSTMState",
           "ModelConfig", "RecurrentClassifier"]
