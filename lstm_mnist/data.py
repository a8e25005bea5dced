"""MNIST as tensors: read the IDX files, split them the way the seeds did, draw batches.

The seeds used TensorFlow's ``input_data.read_data_sets``, which kept the first 5,000 of the
official 60,000 training images for validation and trained on the other 55,000; the 10,000
test images are the official test set. Pixels are floats in [0, 1].

The whole data set (about 200 MB as float32) is held as tensors on the training device and
mini-batches are drawn by indexing with a shuffled permutation: no per-sample Python, no
DataLoader workers, nothing copied to the GPU per step.

Where the files come from, in this order:
  1. a folder given with ``--data-dir`` or the ``MNIST_DIR`` environment variable;
  2. ``./data`` if an earlier run put the files there;
  3. torchvision's download into ``./data`` (with a timeout, so it never hangs).

The IDX format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08 for
unsigned bytes), the number of dimensions, each dimension as a big-endian int32, then the
values in row-major order. Each file may be gzip-compressed.
"""

import gzip
import hashlib
import math
import os
import socket
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import DataError
from .files import NO_ACCESS, kind, last_line, name_note, open_regular, shown
from .words import counted

IMAGE_SIZE = 28  # rows = pixels per row
NUM_CLASSES = 10
VALIDATION_SIZE = 5000  # the first 5,000 training images, as input_data split them
DOWNLOAD_ROOT = Path("data")  # torchvision's download goes to ./data/MNIST/raw
DOWNLOAD_TIMEOUT_S = 20.0  # per network operation

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_UBYTE = 0x08
MAX_IDX_BYTES = 2**30  # the most data an IDX file may claim (1 GiB; MNIST's largest holds 47 MB)
MAX_SEED = 2**32 - 1  # seeds above would overflow the 64-bit generator seeds derived from them below


@dataclass
class Split:
    """One part of the data set: images (N, 28, 28) float32 in [0, 1], labels (N,) int64."""

    images: Tensor  # (N, T, I)
    labels: Tensor  # (N,)

    def __len__(self) -> int:
        return self.labels.size(0)

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.images.to(device), self.labels.to(device))

    def head(self, n: int) -> "Split":
        """The first n examples (all of them if n is larger)."""
        return Split(self.images[:n], self.labels[:n])

    def fingerprint(self) -> dict:
        """How many examples, and a SHA-256 of their pixels and labels: what a checkpoint keeps of the
        data it was trained on, so that a resume on other data is caught (about 0.1 s for 55,000)."""
        digest = hashlib.sha256()
        for tensor in (self.images, self.labels):
            digest.update(memoryview(tensor.detach().cpu().contiguous().numpy()).cast("B"))
        return {"n": len(self), "sha256": digest.hexdigest()}


@dataclass
class MNIST:
    """The seeds' three splits."""

    train: Split  # 55,000: official training images 5,000..59,999
    val: Split  # 5,000: official training images 0..4,999
    test: Split  # 10,000: the official test set

    def to(self, device: torch.device | str) -> "MNIST":
        return MNIST(self.train.to(device), self.val.to(device), self.test.to(device))


# --- reading IDX files ------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file, gzip-compressed or not (``is_gzip``). The header is
    read and checked first; then exactly the bytes it announces (at most ``MAX_IDX_BYTES``),
    so a file that would decompress to gigabytes is refused before it is decompressed."""
    path = Path(path)
    try:
        with open_regular(path, DataError, "IDX file") as raw_file:
            size = os.fstat(raw_file.fileno()).st_size
            compressed = is_gzip(raw_file, path)
            with (gzip.GzipFile(fileobj=raw_file, mode="rb") if compressed else raw_file) as f:
                dims = _read_header(f, path)
                expected = math.prod(dims)  # Python ints: no overflow for absurd headers
                if not compressed and size - 4 - 4 * len(dims) != expected:  # raw: the size is known
                    raise _wrong_size(path, dims, expected, size - 4 - 4 * len(dims))
                if expected > MAX_IDX_BYTES:
                    raise DataError(
                        f"{shown(path)}: its header claims dimensions {dims}, {expected:,} bytes of data, more than "
                        f"the {MAX_IDX_BYTES:,} this reader accepts (MNIST's largest file holds 47 MB); not an MNIST "
                        "file"
                    )
                payload = f.read(expected + 1)  # one byte more tells trailing data apart, without reading it all
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{shown(path)}: cannot read ({_reason(e)}); the file is corrupt or truncated, "
                        "fetch it again") from None
    if len(payload) != expected:
        raise _wrong_size(path, dims, expected, len(payload) if len(payload) < expected else f"more than {expected}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def is_gzip(f, path: Path) -> bool:
    """Whether the open file ``f`` (at its start, and left there) is gzip-compressed: its first bytes
    say so, whatever its name, as an IDX file starts with two zero bytes and gzip with 1f 8b. A name
    that lies (a raw file saved as .gz, a .gz renamed without it) is read as what it holds; bytes that
    are neither are taken as the name says, and the error says why."""
    head = f.read(2)
    f.seek(0)
    return head == b"\x1f\x8b" or (path.suffix == ".gz" and head != b"\x00\x00")


def _wrong_size(path: Path, dims: tuple[int, ...], expected: int, found) -> DataError:
    """The error for an IDX file whose data does not have the size its header announces."""
    short = isinstance(found, int) and found < expected
    what = "truncated" if short else "has trailing bytes"
    return DataError(f"{shown(path)}: {what}: dimensions {dims} need {counted(expected, 'byte')} of data, "
                     f"found {found}")


def _read_header(f, path: Path) -> tuple[int, ...]:
    """The dimensions in an IDX header (magic number checked), read from the open file ``f``."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{shown(path)}: {'empty file' if not magic else 'too short'}, not an IDX file")
    zero, type_code, ndim = int.from_bytes(magic[0:2], "big"), magic[2], magic[3]
    if zero != 0 or ndim == 0:
        raise DataError(f"{shown(path)}: bad magic number 0x{magic.hex()}, not an IDX file")
    if type_code != IDX_UBYTE:
        raise DataError(f"{shown(path)}: IDX type code 0x{type_code:02x} is not supported (MNIST uses 0x08, "
                        "unsigned bytes)")
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError(f"{shown(path)}: truncated header ({counted(4 + len(header), 'byte')} for "
                        f"{counted(ndim, 'dimension')})")
    return tuple(int.from_bytes(header[4 * k : 4 + 4 * k], "big") for k in range(ndim))


def read_images(path: Path) -> np.ndarray:
    """Images (N, 28, 28) uint8 from an IDX file, validated."""
    array = read_idx(path)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"{shown(path)}: expected images of {IMAGE_SIZE}x{IMAGE_SIZE} pixels (3 dimensions), "
            f"found dimensions {array.shape}; is this an image file?"
        )
    return array


def read_labels(path: Path) -> np.ndarray:
    """Labels (N,) uint8 in 0..9 from an IDX file, validated."""
    array = read_idx(path)
    if array.ndim != 1:
        raise DataError(f"{shown(path)}: expected labels (1 dimension), found dimensions {array.shape}; "
                        "is this a label file?")
    if array.size and array.max() >= NUM_CLASSES:
        bad = int(np.argmax(array >= NUM_CLASSES))
        raise DataError(f"{shown(path)}: label {array[bad]} at index {bad} is outside 0..{NUM_CLASSES - 1}")
    return array


def _split_from_arrays(images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path) -> Split:
    if len(images) != len(labels):
        raise DataError(f"{shown(images_path)} holds {counted(len(images), 'image')} but {shown(labels_path)} holds "
                        f"{counted(len(labels), 'label')}")
    if len(images) == 0:
        raise DataError(f"{shown(images_path)}: holds no images")
    pixels = torch.from_numpy(images.copy()).float().div_(255.0)  # (N, 28, 28) in [0, 1]
    return Split(pixels, torch.from_numpy(labels.astype(np.int64)))


# --- finding the files ------------------------------------------------------------------


TEST_FILES = ("test_images", "test_labels")  # all that evaluating or inspecting the test split reads


class UnreadableFolder(DataError):
    """A data folder the user may not look into: the files may be there, but cannot be read."""


def find_files(directory: Path, needed=tuple(FILES), nearby: bool = True) -> dict[str, Path]:
    """The IDX files in ``directory`` or its ``MNIST/raw`` (torchvision's layout), raw or
    ``.gz``: the four, or those ``needed`` (keys of ``FILES``). Raises ``DataError`` naming the
    missing ones (and, if ``nearby``, a folder just inside that holds them: ``--data-dir ~/datasets``
    for ``~/datasets/mnist``), ``UnreadableFolder`` if the folder (or one above it) may not be entered."""
    directory = directory if isinstance(directory, Path) else Path(directory)  # a FromMnistDir stays one
    try:
        return _find_files(directory, needed, nearby)
    except PermissionError as e:  # stat() of a name in a folder without x permission (chmod 000, 444)
        raise UnreadableFolder(f"data folder {folder_named(directory)}: cannot look inside it ({e.strerror}); "
                               f"{NO_ACCESS} and pass --data-dir there") from None


def _find_files(directory: Path, needed, nearby: bool) -> dict[str, Path]:
    if not directory.is_dir():
        raise DataError(missing_folder(directory) if not directory.exists() else
                        f"{folder_named(directory)} is not a folder")
    found, missing = {}, []
    for key, name in ((key, FILES[key]) for key in needed):
        candidates = [folder / (name + ext) for folder in (directory, directory / "MNIST" / "raw")
                      for ext in ("", ".gz")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            unusable = next((p for p in candidates if os.path.lexists(p)), None)  # a folder, a FIFO, a broken link
            if unusable is not None:
                what = kind(os.stat(unusable).st_mode) if os.path.exists(unusable) else "a link that leads to no file"
                raise DataError(f"{shown(unusable)} is {what}, not an MNIST file")
            missing.append(name + "[.gz]")
        else:
            found[key] = path
    if missing:
        there = folders_holding(directory, needed) if nearby else []  # the folder above the right one, given
        raise DataError(
            f"{folder_named(directory)} lacks {', '.join(missing)} (looked in it and in its MNIST/raw); "
            + (f"{shown(there[0])}, inside it, holds them: give that folder instead" if there else
               f"put the {'four MNIST IDX files' if len(needed) == len(FILES) else 'MNIST test files'} there")
        )
    return found


def missing_folder(directory: Path) -> str:
    """Why the data folder ``directory``, which does not exist, is not there: a link to nothing (or
    in a loop), or no such name."""
    if os.path.islink(directory):
        return (f"data folder {folder_named(directory)} is a link to {shown(os.readlink(directory))}, which leads "
                "to no folder")
    return f"data folder {folder_named(directory)} does not exist{name_note(directory)}"


def folder_named(directory: Path) -> str:
    """The data folder's name for a message, with where it came from when that was the environment (a
    user who gave no --data-dir would not know why this folder was read). The same folder given as
    --data-dir (which wins over MNIST_DIR) is the flag's: only ``default_data_dir``'s value says so."""
    return f"{shown(directory)} (MNIST_DIR)" if isinstance(directory, FromMnistDir) else shown(directory)


def files_read_from(data_dir: Path | None, download_root: Path = DOWNLOAD_ROOT) -> list[Path]:
    """Every name ``locate`` could read MNIST from (``data_dir``, else ``download_root``; both layouts, raw
    or ``.gz``), whether it exists or not: what a command's outputs must never be. A file written under
    one of the names that do not exist yet would be read in place of the real one (a raw name wins over
    its ``.gz``)."""
    directory = Path(data_dir) if data_dir is not None else download_root
    return [folder / (name + ext) for folder in (directory, directory / "MNIST" / "raw")
            for name in FILES.values() for ext in ("", ".gz")]


def has_files(directory: Path, needed=tuple(FILES)) -> bool:
    try:
        find_files(directory, needed, nearby=False)  # not nearby: folders_holding asks this of each folder
        return True
    except DataError:
        return False


def download(root: Path = DOWNLOAD_ROOT, timeout_s: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Download MNIST with torchvision into ``root/MNIST/raw``, all or nothing."""
    import torchvision  # imported here: only the download needs it

    created = [folder for folder in (root, *root.parents) if not folder.exists()]  # deepest first
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        root.mkdir(parents=True, exist_ok=True)  # in the try: a current folder the user cannot write is "no download"
        with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
            torchvision.datasets.MNIST(tmp, train=True, download=True)
            target = root / "MNIST" / "raw"
            target.mkdir(parents=True, exist_ok=True)
            for name in FILES.values():
                for ext in ("", ".gz"):
                    source = Path(tmp) / "MNIST" / "raw" / (name + ext)
                    if source.exists():
                        os.replace(source, target / source.name)
    except Exception as e:  # noqa: BLE001 - any failure means "no download", reported in one line
        for folder in created:  # leave no empty ./data behind (rmdir removes only empty folders)
            try:
                folder.rmdir()
            except OSError:
                break
        raise DataError(_reason(e)) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)


def locate(data_dir: Path | str | None, download_root: Path = DOWNLOAD_ROOT, needed=tuple(FILES)) -> dict[str, Path]:
    """Where the four files (or those ``needed``) are, trying ``data_dir``, then ``download_root``,
    then a download (of all four)."""
    if data_dir is not None:
        return find_files(data_dir, needed)
    try:
        return find_files(download_root, needed, nearby=False)  # the folders in it are named below, if needed
    except UnreadableFolder:  # ./data is there, closed to this user: say so, rather than try to download into it
        raise
    except DataError:
        pass
    try:
        download(download_root)
    except DataError as e:
        there = folders_holding(download_root, needed)
        where = (f"{shown(there[0])} holds them: pass --data-dir {shown(there[0])} or set MNIST_DIR={shown(there[0])}"
                 if there else f"Put the four files ({', '.join(n + '.gz' for n in FILES.values())}) in a folder "
                 "and pass --data-dir FOLDER or set MNIST_DIR=FOLDER")
        raise DataError(
            f"MNIST not found: no --data-dir or MNIST_DIR given, none in {download_root}/ itself, and the download "
            f"failed ({e}). {where}"
        ) from None
    return find_files(download_root, needed)


def folders_holding(root: Path, needed=tuple(FILES)) -> list[Path]:
    """The folders just inside ``root`` that hold the files (``data/mnist``, where one copies them by
    hand): named when ``root`` itself is searched and found empty, never read unasked."""
    try:
        return sorted(sub for sub in root.iterdir() if sub.is_dir() and has_files(sub, needed))
    except OSError:  # no such folder, or unreadable
        return []


class SplitTooSmall(DataError):
    """The training file holds no more images than the validation split would take."""


def load_mnist(data_dir: Path | str | None = None, download_root: Path = DOWNLOAD_ROOT,
               validation_size: int = VALIDATION_SIZE) -> MNIST:
    """Read, validate and split MNIST (on the CPU; ``.to(device)`` moves it): the first
    ``validation_size`` training images are the validation split, as the seeds' 5,000."""
    paths = locate(data_dir, download_root)  # find_files makes a str a Path
    train_images = read_images(paths["train_images"])
    train_labels = read_labels(paths["train_labels"])
    full_train = _split_from_arrays(train_images, train_labels, paths["train_images"], paths["train_labels"])
    if len(full_train) <= validation_size:
        raise SplitTooSmall(
            f"{shown(paths['train_images'])}: holds {counted(len(full_train), 'image')}; the split needs more than "
            f"{validation_size} (the first {validation_size} are the validation set)"
        )
    test = _test_split(paths)
    val = Split(full_train.images[:validation_size], full_train.labels[:validation_size])
    train = Split(full_train.images[validation_size:], full_train.labels[validation_size:])
    return MNIST(train=train, val=val, test=test)


def load_split(name: str, data_dir: Path | str | None = None, download_root: Path = DOWNLOAD_ROOT,
               validation_size: int = VALIDATION_SIZE) -> Split:
    """One split of MNIST ("train", "val" or "test"). The test split reads the two test files
    only: evaluating a model needs neither the training files nor their being intact."""
    if name != "test":
        return getattr(load_mnist(data_dir, download_root, validation_size), name)
    return _test_split(locate(data_dir, download_root, needed=TEST_FILES))


def _test_split(paths: dict[str, Path]) -> Split:
    """The test split, read from the files ``locate`` found."""
    return _split_from_arrays(read_images(paths["test_images"]), read_labels(paths["test_labels"]),
                              paths["test_images"], paths["test_labels"])


class FromMnistDir(type(Path())):
    """The folder ``MNIST_DIR`` names, as the programs' default --data-dir: a Path that the messages about
    it say came from there (``folder_named``). A --data-dir given, even the same folder, is a plain Path."""


def default_data_dir() -> FromMnistDir | None:
    """``MNIST_DIR`` from the environment, if set and not empty. Not a str: argparse would make a plain
    Path of a str default, the same as the flag's."""
    text = os.environ.get("MNIST_DIR")
    return FromMnistDir(text) if text else None


# --- batches ----------------------------------------------------------------------------


def shuffled_batches(
    num_examples: int, batch_size: int, seed: int, epoch: int, device: torch.device | str = "cpu"
) -> list[Tensor]:
    """The index batches of one epoch, in a shuffled order that depends only on (seed, epoch),
    so a resumed run draws exactly the batches the interrupted one would have. The last batch
    may be smaller: every example is seen once per epoch."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(num_examples, generator=generator).to(device)  # (N,)
    return list(order.split(batch_size))


def _reason(e: BaseException) -> str:
    """An exception's message as one short line ("data: Permission denied" for a file's error)."""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        return f"{shown(e.filename)}: {e.strerror}"
    return last_line(e)


def random_affine(images: Tensor, seed: int, max_degrees: float = 10.0, max_scale: float = 0.1,
                  max_shift: float = 2.0) -> Tensor:
    """Each image rotated by up to ``max_degrees``, scaled by up to ``max_scale`` and shifted by
    up to ``max_shift`` pixels, at random (training-time augmentation). The randomness comes
    only from ``seed``, so a resumed run sees the same images. (b, T, I) -> (b, T, I)."""
    b, T, I = images.shape
    generator = torch.Generator().manual_seed(seed)
    angle = (torch.rand(b, generator=generator) * 2 - 1) * math.radians(max_degrees)  # (b,)
    scale = 1 + (torch.rand(b, generator=generator) * 2 - 1) * max_scale  # (b,)
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * max_shift * 2 / IMAGE_SIZE  # (b, 2), in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    theta = theta.to(images.device, images.dtype)  # (b, 2, 3): where each output pixel samples from
    grid = F.affine_grid(theta, [b, 1, T, I], align_corners=False)  # (b, T, I, 2)
    return F.grid_sample(images.unsqueeze(1), grid, align_corners=False, padding_mode="zeros").squeeze(1)
