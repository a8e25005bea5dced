"""How to train: the one typed object that the command builds from its flags, every training
function reads, and every checkpoint stores (``train_config``). What the model is lives beside
the model, in model.py's ``ModelConfig``."""

from dataclasses import dataclass
from typing import Any

from .data import VALIDATION_SIZE

# The learning rates Adam can take in float32: it moves each weight by up to about lr per step and
# computes lr / (1 - 0.9) at the first step (above about 3e37 that overflows); below about 1e-38 a
# rate rounds to 0 and nothing would train. Far outside both, a rate is certainly a typo.
LR_MIN, LR_MAX = 1e-30, 1e6


@dataclass(frozen=True)
class Field:
    """What one field of a config may hold. ModelConfig checks its own fields with these (model.py's
    ``FIELDS``), a checkpoint's reader the stored ones (checkpoint.py's schema: stricter, a checkpoint
    being of MNIST's model), and ``checkpoint.check_train_config`` a TrainConfig before a run."""

    types: tuple  # the Python types allowed (bool is never taken for an int)
    meaning: str  # what is expected, in words
    ok: Any = None  # a further check on the value, or None

    def has_type(self, value) -> bool:
        return isinstance(value, self.types) and not (isinstance(value, bool) and bool not in self.types)

    def fits(self, value) -> bool:
        return self.has_type(value) and (self.ok is None or bool(self.ok(value)))


@dataclass(frozen=True)
class TrainConfig:
    """The seeds' settings, except for the learning rate: 3e-3 decayed to 0 along a cosine
    reaches 98% in 3 epochs; the seeds' 1e-3, constant, reaches about 97%."""

    epochs: int | None = 3  # passes over the training split (None: train_samples sets the length)
    train_samples: int | None = None  # or the seeds' count: steps while step * batch_size < N, from step 1
    batch_size: int = 128
    lr: float = 3e-3  # Adam's learning rate at the first step (the seeds: 1e-3, constant)
    lr_schedule: str = "cosine"  # "cosine": decays to 0 over all steps; "constant": as the seeds
    clip_grad_norm: float | None = None  # rescale gradients whose total norm exceeds this
    augment: bool = False  # random small rotations, scalings and shifts of the training images
    init: str = "pytorch"  # head and projection: "pytorch", "normal" or "normal-bias0.1" (the seeds)
    seed: int = 0  # drives the initial weights, the order of the batches and the augmentation
    limit_train: int | None = None  # train on the first N training images only
    validation_size: int = VALIDATION_SIZE  # the first N of the official training images (the seeds: 5,000)
    preset: str | None = None  # the preset these settings started from, if any (see presets.py)
