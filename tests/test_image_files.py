"""Your own image files, read as the picture a viewer shows: at any bit depth and in any mode
Pillow opens."""

import csv
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.images import greyscale, load_image

SHIPPED = ROOT / "docs" / "model" / "lstm-mnist.pt"


def dark_three() -> np.ndarray:
    """MNIST test image 3 (a 0) as a user draws it: dark on white, (28, 28) uint8 with every shade."""
    with Image.open(ROOT / "docs" / "digits" / "test-3.png") as png:
        return 255 - np.asarray(png)


def png16(pixels: np.ndarray, colour_type: int) -> bytes:
    """A 16-bit PNG of ``pixels`` ((h, w) or (h, w, channels), uint16): grey (colour type 0), grey
    and alpha (4), RGB (2) or RGBA (6). Pillow writes only the grey one itself."""
    pixels = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)  # filter 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def in_mode(grey: np.ndarray, mode: str) -> Image.Image:
    """The 8-bit picture ``grey`` (h, w), dark on white, as an image in Pillow's ``mode``, at that
    mode's own scale; in the modes with alpha, its white page is transparent (and black beneath)."""
    size, wide = grey.shape[::-1], grey.astype(np.uint16) * 257  # 16-bit: 257 * v is v's shade exactly
    page = grey == 255
    ink, alpha = np.where(page, 0, grey).astype(np.uint8), np.where(page, 0, 255).astype(np.uint8)
    made = {
        "I;16": lambda: Image.frombytes("I;16", size, wide.astype("<u2").tobytes()),
        "I;16L": lambda: Image.frombytes("I;16L", size, wide.astype("<u2").tobytes()),
        "I;16N": lambda: Image.frombytes("I;16N", size, wide.astype("=u2").tobytes()),
        "I;16B": lambda: Image.frombytes("I;16B", size, wide.astype(">u2").tobytes()),
        "I": lambda: Image.fromarray(wide.astype(np.int32)),  # as a 16-bit PGM opens
        "F": lambda: Image.fromarray(grey.astype(np.float32) / 255),
        "LA": lambda: Image.frombytes("LA", size, np.stack([ink, alpha], -1).tobytes()),
        "La": lambda: Image.frombytes("La", size, np.stack([ink, alpha], -1).tobytes()),  # premultiplied: the same
        "PA": lambda: with_alpha(Image.fromarray(ink).convert("P").convert("PA"), alpha),
        "RGBA": lambda: Image.frombytes("RGBA", size, np.stack([ink] * 3 + [alpha], -1).tobytes()),
        "RGBa": lambda: Image.frombytes("RGBa", size, np.stack([ink] * 3 + [alpha], -1).tobytes()),
    }
    if mode in made:
        return made[mode]()
    return Image.fromarray(grey).convert(mode if mode in ("1", "L", "P") else "RGB").convert(mode)


def with_alpha(image: Image.Image, alpha: np.ndarray) -> Image.Image:
    image.putalpha(Image.fromarray(alpha))
    return image


def test_every_mode_pillow_opens_reads_as_the_same_picture():
    """A digit is read the same whatever mode its file opens in: 16-bit, 32-bit and float
    greyscale are scaled from their own range to 0..255, never clipped (a 16-bit image was once
    read as pure black and white); colour, palette and CIELAB images are their grey; a transparent
    page is white under dark strokes in every mode with alpha, premultiplied too. A mode Pillow
    adds later fails here until images.greyscale is taught it."""
    grey = dark_three()
    black_and_white = np.where(grey > 127, 255, 0).astype(np.uint8)  # what mode "1" can hold
    for mode in Image.MODES:
        picture = black_and_white if mode == "1" else grey
        read = np.asarray(greyscale(in_mode(picture, mode)), dtype=np.float32)
        assert read.shape == picture.shape, mode
        tolerance = {"YCbCr": 1, "LAB": 2}.get(mode, 0)  # conversions through another colour space
        assert np.abs(read - picture).max() <= tolerance + 1e-4, mode


@pytest.mark.parametrize("size", [28, 84])  # taken as it is; brought to MNIST's form
def test_a_16_bit_file_reads_exactly_as_its_8_bit_original(tmp_path, size):
    """The 16-bit copy of an 8-bit image (every value times 257) gives exactly the same 28x28
    input, whether a PNG (grey, grey and alpha, RGB, RGBA), a TIFF or a PGM; a float TIFF in
    [0, 1] the same within float rounding."""
    grey = np.kron(dark_three(), np.ones((size // 28, size // 28), dtype=np.uint8))  # (size, size)
    Image.fromarray(grey).save(tmp_path / "8-bit.png")
    expected = load_image(tmp_path / "8-bit.png")
    wide = grey.astype(np.uint16) * 257
    Image.fromarray(wide).save(tmp_path / "grey.png")  # Pillow's I;16
    Image.frombytes("I;16B", grey.shape[::-1], wide.astype(">u2").tobytes()).save(tmp_path / "grey.tif")
    Image.fromarray(wide).save(tmp_path / "grey.pgm")  # opens as "I"
    (tmp_path / "grey-alpha.png").write_bytes(png16(np.stack([wide, np.full_like(wide, 65535)], -1), 4))
    (tmp_path / "rgb.png").write_bytes(png16(np.stack([wide] * 3, -1), 2))
    (tmp_path / "rgba.png").write_bytes(png16(np.stack([wide] * 3 + [np.full_like(wide, 65535)], -1), 6))
    for name in ("grey.png", "grey.tif", "grey.pgm", "grey-alpha.png", "rgb.png", "rgba.png"):
        assert torch.equal(load_image(tmp_path / name), expected), name
    Image.fromarray(grey.astype(np.float32) / 255).save(tmp_path / "float.tif")
    torch.testing.assert_close(load_image(tmp_path / "float.tif"), expected, atol=1e-6, rtol=0)


def test_a_16_bit_digit_is_classified_as_its_8_bit_original(tmp_path, run_in_process):
    """predict.py gives a 16-bit PNG the 8-bit one's prediction and probabilities (the 16-bit
    copy of this 0 was once read as a 4)."""
    grey = dark_three()
    Image.fromarray(grey).save(tmp_path / "a.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "b.png")
    result = run_in_process("predict.py", str(SHIPPED), str(tmp_path), "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 0, result.stderr
    eight, sixteen = list(csv.reader((tmp_path / "p.csv").open()))[1:]
    assert eight[0] == "a.png" and eight[1] == "0" and eight[1:] == sixteen[1:]


def test_deep_pixels_outside_their_range_are_refused_in_one_line(tmp_path):
    """A float image with values its depth cannot hold (over 255, negative, NaN) names the file
    and the values in one line, rather than being read clipped; a 16-bit PNG's transparent
    value is laid on white under dark strokes, as an 8-bit drawing's transparency is."""
    for name, values in (("over.tif", [0, 300]), ("negative.tif", [-1, 0.5]), ("nan.tif", [0, np.nan])):
        Image.fromarray(np.array([values] * 4, dtype=np.float32)).save(tmp_path / name)
        with pytest.raises(LSTMMnistError, match=f"^{tmp_path / name}: not a readable image \\(.*(pixels|numbers)"):
            load_image(tmp_path / name)
    drawing = np.full((40, 40), 7, dtype=np.uint16)  # the transparent value, wherever nothing is drawn
    drawing[5:35, 18:22] = 1000  # a dark stroke
    Image.fromarray(drawing).save(tmp_path / "clear.png", transparency=7)
    image = load_image(tmp_path / "clear.png").numpy()
    assert image.max() > 0.98 and image[0].max() == 0  # inverted: a white stroke (1000 of 65535) on black


def test_strokes_too_thin_to_survive_the_scaling_are_refused_in_one_line(tmp_path):
    """Two bright pixels in opposite corners of a 2000x2000 image: scaled to fit 20x20, nothing is left of
    them, and the centre of mass of nothing was NaN ('cannot convert float NaN to integer'). The file
    is refused with a reason and a way out."""
    sparse = np.zeros((2000, 2000), dtype=np.uint8)
    sparse[0, 0] = sparse[-1, -1] = 255
    Image.fromarray(sparse).save(tmp_path / "sparse.png")
    with pytest.raises(LSTMMnistError, match=f"^{tmp_path / 'sparse.png'}: no digit left once scaled to fit 20x20: "
                                             "its strokes are too thin for its size; crop the image"):
        load_image(tmp_path / "sparse.png")


STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}  # EXIF Orientation: how a camera stores an upright picture under it


def stored_sideways(upright: np.ndarray, orientation: int, path, **options) -> None:
    """Save ``upright`` (h, w) as a camera would under that EXIF ``orientation``: the pixels turned, the tag set."""
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    Image.fromarray(upright).transpose(STORED[orientation]).save(path, exif=exif, **options)


@pytest.mark.parametrize("suffix, options", [(".png", {}), (".tif", {}), (".webp", {"lossless": True})])
def test_an_exif_orientation_is_applied_as_viewers_apply_it(tmp_path, suffix, options):
    """Viewers show an image turned as its EXIF Orientation says (phones store photos sideways
    with the tag): read the same way, each of the 7 turns gives exactly the upright image's input
    (a TIFF, which Pillow turns itself, is not turned twice). An EXIF block too damaged to read
    is ignored, as viewers ignore it: the image is read as stored, not refused."""
    upright = np.full((60, 40), 255, dtype=np.uint8)  # a page, taller than wide
    upright[10:50, 8:32] = np.kron(dark_three()[4:24, 8:20], np.ones((2, 2), dtype=np.uint8))
    Image.fromarray(upright).save(tmp_path / f"upright{suffix}", **options)
    expected = load_image(tmp_path / f"upright{suffix}")
    for orientation in STORED:
        stored_sideways(upright, orientation, tmp_path / f"turned{suffix}", **options)
        assert torch.equal(load_image(tmp_path / f"turned{suffix}"), expected), orientation
    if suffix != ".tif":  # PNG and WebP hold EXIF as a block of bytes; a TIFF, as its own tags
        Image.fromarray(upright).save(tmp_path / f"damaged{suffix}", exif=b"Exif\x00\x00not a TIFF header", **options)
        assert torch.equal(load_image(tmp_path / f"damaged{suffix}"), expected)


def test_a_sideways_phone_photo_is_classified_upright(tmp_path, run_in_process):
    """A JPEG stored sideways with Orientation 6, as phones save photos, is read as every viewer
    shows it, by predict.py and inspect_digit.py --image alike (this 7 was once read as a 0)."""
    with Image.open(ROOT / "docs" / "digits" / "test-0.png") as png:  # a 7
        seven = np.kron(255 - np.asarray(png), np.ones((4, 4), dtype=np.uint8))  # (112, 112), dark on white
    stored_sideways(seven, 6, tmp_path / "photo.jpg", quality=95)
    result = run_in_process("predict.py", str(SHIPPED), str(tmp_path / "photo.jpg"), "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 0, result.stderr
    assert list(csv.reader((tmp_path / "p.csv").open()))[1][:2] == ["photo.jpg", "7"]
    result = run_in_process("inspect_digit.py", str(SHIPPED), "--image", str(tmp_path / "photo.jpg"), "--no-figure")
    assert result.returncode == 0 and "prediction: 7 (" in result.stdout, result.stderr


def test_any_image_pillow_reads_is_read_by_both_commands_whatever_its_name(tmp_path, run_in_process):
    """An image named on the command line is read whenever Pillow reads it, whatever its name
    (BMP, GIF, TIFF, WebP, a PNG called .dat), by predict.py and inspect_digit.py --image alike
    (predict.py once refused all but .png, .jpg and .jpeg); a folder's scan picks these formats'
    files too; a file that is not an image is refused by both in one line (exit 1)."""
    with Image.open(ROOT / "docs" / "digits" / "test-0.png") as png:  # a 7
        seven = Image.fromarray(255 - np.asarray(png))
    folder = tmp_path / "digits"
    folder.mkdir()
    for name, format, options in (("a.bmp", None, {}), ("b.gif", None, {}), ("c.tiff", None, {}), ("d.TIF", "TIFF", {}),
                                  ("e.webp", None, {"lossless": True}), ("f.dat", "PNG", {})):
        seven.save(folder / name, format=format, **options)
    (folder / "notes.txt").write_text("not an image")
    result = run_in_process("predict.py", str(SHIPPED), str(folder), "--out", str(tmp_path / "all.csv"))
    assert result.returncode == 0 and "5 images classified;" in result.stdout, result.stderr
    rows = list(csv.reader((tmp_path / "all.csv").open()))[1:]
    assert [row[:2] for row in rows] == [[name, "7"] for name in ("a.bmp", "b.gif", "c.tiff", "d.TIF", "e.webp")]
    for name in ("a.bmp", "b.gif", "c.tiff", "d.TIF", "e.webp", "f.dat"):
        result = run_in_process("predict.py", str(SHIPPED), str(folder / name), "--out", str(tmp_path / f"{name}.csv"))
        assert result.returncode == 0, result.stderr
        assert list(csv.reader((tmp_path / f"{name}.csv").open()))[1][:2] == [name, "7"]
        result = run_in_process("inspect_digit.py", str(SHIPPED), "--image", str(folder / name), "--no-figure")
        assert result.returncode == 0 and "prediction: 7 (" in result.stdout, result.stderr
    why = f"{folder / 'notes.txt'}: not an image (empty, or in no format Pillow reads, such as PNG or JPEG)"
    result = run_in_process("predict.py", str(SHIPPED), str(folder / "notes.txt"), "--out", str(tmp_path / "n.csv"))
    assert (result.returncode, result.stderr) == (1, f"predict.py: error: {why}\n")
    result = run_in_process("inspect_digit.py", str(SHIPPED), "--image", str(folder / "notes.txt"), "--no-figure")
    assert (result.returncode, result.stderr) == (1, f"inspect_digit.py: error: {why}\n")


def test_every_file_named_as_an_image_is_classified_or_said_to_be_skipped(tmp_path, run_in_process):
    """predict.py's folder scan leaves nothing out unsaid: a link to nothing, a FIFO or a folder
    named as an image is skipped with one line saying what it is, and counted among the skipped
    (they were once left out in silence). A link to nothing named by itself says that the file it
    names does not exist, in both commands."""
    folder = tmp_path / "digits"
    folder.mkdir()
    Image.fromarray(dark_three()).save(folder / "a.png")
    (folder / "gone.png").symlink_to("missing.png")
    os.mkfifo(folder / "pipe.png")
    (folder / "sub.png").mkdir()
    result = run_in_process("predict.py", str(SHIPPED), str(folder), "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 0 and "1 image classified, 3 skipped;" in result.stdout, result.stderr
    assert result.stderr.splitlines() == [
        f"predict.py: skipped {folder / 'gone.png'} is a link to missing.png, which does not exist",
        f"predict.py: skipped {folder / 'pipe.png'} is a FIFO (named pipe), not a regular file; give the image itself",
        f"predict.py: skipped {folder / 'sub.png'} is a folder, not a regular file; give the image itself"]
    result = run_in_process("predict.py", str(SHIPPED), str(folder / "gone.png"), "--out", str(tmp_path / "q.csv"))
    assert (result.returncode, result.stderr) == (
        1, f"predict.py: error: {folder / 'gone.png'} is a link to missing.png, which does not exist\n")
    result = run_in_process("inspect_digit.py", str(SHIPPED), "--image", str(folder / "gone.png"), "--no-figure")
    assert (result.returncode, result.stderr) == (
        1, f"inspect_digit.py: error: {folder / 'gone.png'} is a link to missing.png, which does not exist\n")
