"""Presets: the five seed tutorials' configurations, and the best this model reaches.

Each preset is a set of ``ModelConfig`` and ``TrainConfig`` fields; ``train.py --preset NAME``
starts from it, and explicit flags override it. The seed presets reproduce what each tutorial
configured (see the README's results table for what they reach here and what they reached in
TensorFlow); every one of them uses batch 128, Adam at a constant 0.001, forget bias 1.0 and
pixels in [0, 1], and initialises its head (and projection) from ``tf.random_normal``.

Initialisation schemes for the head and the input projection (the cell always starts as
``nn.LSTMCell`` does):

    pytorch         nn.Linear's default
    normal          weights and biases ~ N(0, 1)                (seeds 000, 001, 002, 004)
    normal-bias0.1  weights ~ N(0, 1), biases = 0.1             (seed 003)
"""

from torch import nn

SEEDS_COMMON = {"lr": 1e-3, "lr_schedule": "constant", "normalize": False, "batch_size": 128,
                "forget_bias": 1.0, "hidden_size": 128}

PRESETS: dict[str, dict] = {
    # 000 and 001: raw rows, 3 epochs of 55,000.
    "seed-rows-3-epochs": SEEDS_COMMON | {"input_projection": False, "epochs": 3, "train_samples": None,
                                          "init": "normal"},
    # 004: raw rows, `while step * 128 < 100000` from step 1: 781 steps.
    "seed-rows-100k": SEEDS_COMMON | {"input_projection": False, "epochs": None, "train_samples": 100_000,
                                      "init": "normal"},
    # 002: a linear 28 -> 128 projection before the cell, everything ~ N(0, 1), 781 steps.
    "seed-projection-100k": SEEDS_COMMON | {"input_projection": True, "epochs": None, "train_samples": 100_000,
                                            "init": "normal"},
    # 003: the projection again, weights ~ N(0, 1) and biases 0.1 (782 steps there: it counts from step 0).
    "seed-projection-bias-100k": SEEDS_COMMON | {"input_projection": True, "epochs": None,
                                                 "train_samples": 100_000, "init": "normal-bias0.1"},
    # Past the seeds, the same model (one LSTM layer of 128, rows as steps, no convolution): standardised
    # pixels, Adam from 0.003 decayed along a cosine, gradient clipping, random small affine distortions of
    # the training images, 20 epochs. Written down once, from common practice, and run once per seed: nothing
    # was tuned on the test images (README).
    "best": {"hidden_size": 128, "forget_bias": 1.0, "input_projection": False, "normalize": True,
             "batch_size": 128, "lr": 3e-3, "lr_schedule": "cosine", "clip_grad_norm": 1.0, "augment": True,
             "epochs": 20, "train_samples": None, "init": "pytorch"},
}

SEED_FILES = {
    "seed-rows-3-epochs": "000, 001",
    "seed-rows-100k": "004",
    "seed-projection-100k": "002",
    "seed-projection-bias-100k": "003",
    "best": "(none: past the seeds)",
}


def initialize(model: nn.Module, scheme: str) -> None:
    """Re-initialise the head and the input projection (if any) as the seeds did."""
    if scheme == "pytorch":
        return
    if scheme not in ("normal", "normal-bias0.1"):
        raise ValueError(f"unknown init scheme {scheme!r}: pytorch, normal or normal-bias0.1")
    layers = [model.head] + ([model.projection] if model.projection is not None else [])
    for layer in layers:
        nn.init.normal_(layer.weight, 0.0, 1.0)  # tf.random_normal
        if scheme == "normal":
            nn.init.normal_(layer.bias, 0.0, 1.0)
        else:
            nn.init.constant_(layer.bias, 0.1)  # tf.constant(0.1)
