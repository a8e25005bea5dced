"""Your own digit images, brought to MNIST's form: 28x28, white on black, pixels in [0, 1].

MNIST was made this way (LeCun et al.): each digit was scaled to fit a 20x20 box, keeping its
proportions, then placed in a 28x28 field so that its centre of mass falls on the centre. A
photo or a drawing of any size goes through the same steps here, after being turned upright as
its EXIF orientation says (as viewers show a phone's photo), read as greyscale (at any bit
depth: a 16-bit or floating-point image is scaled from its own range, so that it reads as its
8-bit copy does) and inverted if its background is light. An image that is already 28x28 is
taken as it is (inverted if needed): it is most likely an MNIST-style digit already.
"""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import LSTMMnistError
from .files import NO_ACCESS, name_note, open_regular, shown, unreachable

SIZE = 28  # the field
BOX = 20  # the digit's longer side
INK = 0.2  # a pixel brighter than this (after inversion) is part of the digit
MAX_PIXELS = 40_000_000  # larger images are refused from their header (a 40-megapixel photo is 160 MB as floats)
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")  # what a folder's scan reads
LISTED = ", ".join(EXTENSIONS[:-1]) + " or " + EXTENSIONS[-1]


def image_files(folder: Path) -> list[Path]:
    """The images to read (predict.py; the web page's --digits): everything in ``folder`` named as an
    image (``EXTENSIONS``), or ``folder`` itself if it is not a folder, whatever its name.
    ``load_image`` then reads each or says in one line why not, as ``inspect_digit.py --image``
    does: not an image, a FIFO, a link to nothing (so none is left out unsaid). Raises
    ``LSTMMnistError`` (one line) if there are none."""
    if not os.path.isdir(folder):
        if not os.path.lexists(folder):
            raise LSTMMnistError(unreachable(folder) or f"{shown(folder)}: no such file or folder{name_note(folder)}")
        return [folder]
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)
    except PermissionError as e:  # a folder without read permission cannot be listed
        raise LSTMMnistError(f"{shown(folder)}: cannot list the images in it ({e.strerror}); {NO_ACCESS}") from None
    if not files:
        raise LSTMMnistError(f"{shown(folder)}: no images in it ({LISTED})")
    return files


def not_images(folder: Path) -> list[Path]:
    """The files of ``folder`` that ``image_files`` leaves out, not being named as images (an .svg digit, a
    .txt of notes), for predict.py to name: none is left out unsaid. Hidden files (.DS_Store) and folders aside."""
    try:
        return sorted(p for p in folder.iterdir()
                      if p.suffix.lower() not in EXTENSIONS and not p.name.startswith(".") and not p.is_dir())
    except OSError:  # image_files has listed it already, or said why it cannot
        return []


def load_image(path: Path) -> torch.Tensor:
    """One image file as MNIST pixels: (28, 28) floats in [0, 1], white digit on black."""
    with open_regular(path, LSTMMnistError, "image") as raw, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # a refusal below, not a warning
        try:
            with Image.open(raw) as file:  # reads the header only: the size is known before any pixel
                width, height = file.size
                if width * height > MAX_PIXELS:
                    raise LSTMMnistError(too_large(path, f"{width}x{height}"))
                grey = greyscale(upright(file)) / 255.0  # (height, width), float32 in [0, 1]
        except LSTMMnistError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:  # Pillow's own limit, in open()
            claimed = re.search(r"\((\d+) pixels\)", str(e))
            raise LSTMMnistError(too_large(path, f"{int(claimed[1]):,}" if claimed else "too many")) from None
        except UnidentifiedImageError:
            raise LSTMMnistError(f"{shown(path)}: not an image (empty, or in no format Pillow reads, such as PNG or "
                                 "JPEG)") from None
        except Exception as e:  # noqa: BLE001 - Pillow's decoders raise many types for a damaged file
            raise LSTMMnistError(f"{shown(path)}: not a readable image ({e})") from None
    if grey.max() - grey.min() <= INK:  # one shade throughout (at any size): no stroke stands out
        raise LSTMMnistError(f"{shown(path)}: no digit found: the image is blank")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # dark digit on a light background: invert
        grey = 1.0 - grey
    if grey.shape == (SIZE, SIZE):
        return torch.from_numpy(grey.copy())
    try:
        return torch.from_numpy(to_mnist_form(grey))
    except ValueError as e:
        raise LSTMMnistError(f"{shown(path)}: {e}") from None


def too_large(path: Path, size: str) -> str:
    return (f"{shown(path)}: claims {size} pixels, more than the {MAX_PIXELS // 10**6} million this reader accepts "
            "(a decompression bomb?); scale it down first")


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation says: as viewers show it (a phone stores its photos
    sideways, with that tag). An EXIF block too damaged to read is ignored, as viewers ignore it:
    the image is then read as stored, silently (Pillow's warnings about it are not shown)."""
    image.load()  # a PNG's EXIF may follow its pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data"
        try:
            return ImageOps.exif_transpose(image)  # a turned copy (in_place=True needs Pillow 10; 9 is admitted)
        except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises many types for a damaged block
            return image


DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # more than 8 bits a pixel: read by deep_greyscale


def greyscale(image: Image.Image) -> np.ndarray:
    """The image's brightness in any mode Pillow opens: (height, width) float32 from 0 (black)
    to 255 (white). 8-bit images are converted to "L" by Pillow (a 16-bit RGB or RGBA PNG opens
    as 8-bit: its high bytes); deeper greyscale ones (16-bit, 32-bit, float) are scaled from their
    own range. A drawing with transparency (RGBA, LA, a palette with
    a transparent colour) is first laid on the background its strokes stand out from: white
    under dark strokes, black under light ones (its transparent pixels' own colour means nothing)."""
    if image.mode in DEEP_MODES:
        return deep_greyscale(image)
    if image.mode in ("La", "RGBa"):  # alpha premultiplied (a TIFF's "associated" alpha): as LA, RGBA
        image = image.convert(image.mode[:-1] + "A")
    elif image.mode == "LAB":  # CIELAB (a TIFF's): convert() cannot turn it into anything else
        from PIL import ImageCms  # LittleCMS, in every Pillow wheel

        image = ImageCms.applyTransform(image, ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"))
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return np.asarray(image.convert("L"), dtype=np.float32)
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0  # (height, width)
    ink = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0  # the strokes' brightness
    strokes = float((ink * alpha).sum() / alpha.sum()) if alpha.sum() > 0 else 0.0
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255) if strokes < 0.5 else (0, 0, 0, 255))
    return np.asarray(Image.alpha_composite(background, rgba).convert("L"), dtype=np.float32)


def deep_greyscale(image: Image.Image) -> np.ndarray:
    """A greyscale image of more than 8 bits (modes "I;16", "I", "F") as (height, width) float32
    from 0 to 255: the same picture as an 8-bit one (a 16-bit 257 * v is v exactly), never clipped
    as Pillow's ``convert("L")`` clips at 255. White is ``white_level``; values beyond it, or
    below 0, are refused (ValueError). A transparent value (a 16-bit PNG's tRNS) is laid on white
    or black, as ``greyscale`` lays a drawing."""
    values = np.asarray(image, dtype=np.float64)  # (height, width)
    if not np.isfinite(values).all():
        raise ValueError("some pixels are not numbers (NaN or infinite)")
    white = white_level(image, values)
    if values.min() < 0 or values.max() > white:
        raise ValueError(f"pixels from {values.min():g} to {values.max():g}, outside the 0 (black) to {white:g} "
                         f"(white) of its mode, {image.mode}")
    grey = values * 255.0 / white  # exact where the value is a multiple of white / 255
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):
        clear = np.asarray(image) == transparent
        if clear.any() and not clear.all():
            grey[clear] = 255.0 if grey[~clear].mean() < 127.5 else 0.0
    return grey.astype(np.float32)


def white_level(image: Image.Image, values: np.ndarray) -> float:
    """The value of white in a deep image: 2**bits - 1 for integers, ``bits`` a TIFF's BitsPerSample
    (12, 16, 32; one less for signed samples) and 16 for every other file (a 16-bit PNG, PGM,
    JPEG 2000); 1.0 for floats that stay within [0, 1], else 255 (Pillow's own "L" to "F")."""
    if image.mode == "F":
        return 1.0 if values.max() <= 1.0 else 255.0
    tags = getattr(image, "tag_v2", {})  # a TIFF's tags; a tuple or a number each
    bits = int(np.ravel(tags.get(258, 16))[0])  # BitsPerSample
    signed = int(np.ravel(tags.get(339, 1))[0] == 2)  # SampleFormat 2: signed integers
    return float(2 ** (bits - signed) - 1)


def to_mnist_form(grey: np.ndarray) -> np.ndarray:
    """A white-on-black digit of any size, (height, width) in [0, 1], as a (28, 28) MNIST image."""
    rows, columns = np.nonzero(grey > INK)
    if len(rows) == 0:
        raise ValueError("no digit found: the image is blank")
    digit = grey[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]  # the bounding box
    scale = BOX / max(digit.shape)
    height, width = max(1, round(digit.shape[0] * scale)), max(1, round(digit.shape[1] * scale))
    resized = resize_lanczos(np.uint8(np.round(255 * digit)), height, width)
    digit = resized.astype(np.float32) / 255.0  # (height, width), longer side 20

    total = digit.sum()
    if total == 0:  # strokes far thinner than the digit is large (a dot in each corner of a photo): nothing left
        raise ValueError(f"no digit left once scaled to fit {BOX}x{BOX}: its strokes are too thin for its size; "
                         "crop the image to the digit, or draw it with thicker strokes")
    centre_y = (digit.sum(axis=1) @ np.arange(height)) / total  # centre of mass, in the box
    centre_x = (digit.sum(axis=0) @ np.arange(width)) / total
    top = int(np.clip(round(SIZE / 2 - 0.5 - centre_y), 0, SIZE - height))  # puts it on the field's centre
    left = int(np.clip(round(SIZE / 2 - 0.5 - centre_x), 0, SIZE - width))
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def resize_lanczos(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """8-bit pixels (h, w) resized to (height, width) with PIL's LANCZOS filter: first along the rows,
    then along the columns. One ``Image.resize`` makes the same two passes, but Pillow 13 runs them the
    other way round when the height shrinks most, which moves some pixels by several grey levels; in
    a fixed order every Pillow, and the browser page (web_assets/images.js), give the same pixels."""
    image = Image.fromarray(pixels)
    image = image.resize((width, image.height), Image.LANCZOS)  # (h, width): each row (a copy if already so)
    return np.asarray(image.resize((width, height), Image.LANCZOS))  # (height, width): each column
