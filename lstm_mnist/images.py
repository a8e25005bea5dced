"""Your own digit images, brought to MNIST's form: 28x28, white on black, pixels in [0, 1].

MNIST was made this way (LeCun et al.): each digit was scaled to fit a 20x20 box, keeping its
proportions, then placed in a 28x28 field so that its centre of mass falls on the centre. A
photo or a drawing of any size goes through the same steps here, after being read as greyscale
and inverted if its background is light. An image that is already 28x28 is taken as it is
(inverted if needed): it is most likely an MNIST-style digit already.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import LSTMMnistError

SIZE = 28  # the field
BOX = 20  # the digit's longer side
INK = 0.2  # a pixel brighter than this (after inversion) is part of the digit


def load_image(path: Path) -> torch.Tensor:
    """One image file as MNIST pixels: (28, 28) floats in [0, 1], white digit on black."""
    try:
        with Image.open(path) as file:
            grey = np.asarray(file.convert("L"), dtype=np.float32) / 255.0  # (height, width), 8-bit greyscale
    except (OSError, ValueError) as e:  # PIL's UnidentifiedImageError is an OSError
        raise LSTMMnistError(f"{path}: not a readable image ({e})") from None
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # dark digit on a light background: invert
        grey = 1.0 - grey
    if grey.shape == (SIZE, SIZE):
        return torch.from_numpy(grey.copy())
    try:
        return torch.from_numpy(to_mnist_form(grey))
    except ValueError as e:
        raise LSTMMnistError(f"{path}: {e}") from None


def to_mnist_form(grey: np.ndarray) -> np.ndarray:
    """A white-on-black digit of any size, (height, width) in [0, 1], as a (28, 28) MNIST image."""
    rows, columns = np.nonzero(grey > INK)
    if len(rows) == 0:
        raise ValueError("no digit found: the image is blank")
    digit = grey[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]  # the bounding box
    scale = BOX / max(digit.shape)
    height, width = max(1, round(digit.shape[0] * scale)), max(1, round(digit.shape[1] * scale))
    resized = Image.fromarray(np.uint8(np.round(255 * digit))).resize((width, height), Image.LANCZOS)
    digit = np.asarray(resized, dtype=np.float32) / 255.0  # (height, width), longer side 20

    total = digit.sum()
    centre_y = (digit.sum(axis=1) @ np.arange(height)) / total  # centre of mass, in the box
    centre_x = (digit.sum(axis=0) @ np.arange(width)) / total
    top = int(np.clip(round(SIZE / 2 - 0.5 - centre_y), 0, SIZE - height))  # puts it on the field's centre
    left = int(np.clip(round(SIZE / 2 - 0.5 - centre_x), 0, SIZE - width))
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field
