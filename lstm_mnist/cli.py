"""What the commands share: argument types, the device, error reporting, their names.

Every problem the user can fix ends the program with one line on stderr, never a
traceback: exit status 2 for a bad command line (argparse's convention), 1 for anything
else (missing data, a bad checkpoint, a diverged run), 130 after Ctrl-C.
"""

import argparse
import math
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from .data import default_data_dir
from .errors import LSTMMnistError, UsageError

USAGE_ERROR = 2
INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message (usage errors exit with status 2)."""

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks (each flag's help states its default)."""


def whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, minimum=1)


def non_negative_int(text: str) -> int:
    return whole_number(text, minimum=0)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def class_names(text: str) -> tuple[str, ...]:
    """Ten comma-separated names, one per label 0..9 ("T-shirt,Trouser,...")."""
    names = tuple(name.strip() for name in text.split(","))
    if len(names) != 10 or not all(names):
        raise argparse.ArgumentTypeError(f"expected 10 non-empty comma-separated names, got {len(names)}")
    return names


def device_name(text: str) -> str:
    """'auto', 'cpu', 'cuda' or 'cuda:N' (checked against the machine later, by resolve_device)."""
    name = text.strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


def add_device_flag(parser) -> None:
    """--device, as every command takes it (checked against the machine by resolve_device)."""
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N (default: auto)")


def add_data_dir_flag(parser) -> None:
    """--data-dir, as every command that reads MNIST takes it."""
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(), metavar="DIR",
                        help="folder with the four MNIST IDX files (.gz or raw); default: $MNIST_DIR, "
                             "else ./data, else a download into ./data")


def resolve_device(name: str) -> tuple[torch.device, str]:
    """The torch device for a ``--device`` value, and a line that says what was chosen.
    Raises ``ValueError`` (a usage error) for a GPU this machine does not have."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda"), f"device: cuda ({torch.cuda.get_device_name(0)}), chosen by --device auto"
        return torch.device("cpu"), "device: cpu (no CUDA GPU found), chosen by --device auto"
    if name == "cpu":
        return torch.device("cpu"), "device: cpu"
    if not torch.cuda.is_available():
        why = "this PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise ValueError(f"--device {name}: CUDA is not available here ({why}); use --device cpu")
    index = int(name[5:]) if ":" in name else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"--device {name}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", index), f"device: cuda:{index} ({torch.cuda.get_device_name(index)})"


def device_from_flag(parser: argparse.ArgumentParser, name: str) -> tuple[torch.device, str]:
    """``resolve_device``, with a device this machine does not have a usage error (exit 2)."""
    try:
        return resolve_device(name)
    except ValueError as e:
        parser.error(str(e))


def check_output_path(path: Path, may_replace: bool, needed_bytes: int = 0, flag: str = "--out",
                      if_exists: str = "choose another --out, or pass --overwrite") -> None:
    """Fail before any work if ``path`` (given as ``flag``) cannot be written, would clobber a
    file (``if_exists`` says what to do instead), or would not fit on its disk (``needed_bytes``
    twice over: the old file stays until the new one is complete). Raises ``UsageError``."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give the name of a file in it")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {parent} does not exist; create it first")
    if path.exists() and not may_replace:
        raise UsageError(f"{flag} {path}: exists; {if_exists}")
    probe = parent / f".{path.name}.write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write in {parent} ({e.strerror})") from None
    free = shutil.disk_usage(parent).free
    if free < 2 * needed_bytes:
        raise UsageError(
            f"{flag} {path}: only {free / 1e6:.1f} MB free in {parent}; it needs about "
            f"{needed_bytes / 1e6:.1f} MB, twice that while it is replaced: free some space or choose another {flag}"
        )


def installed() -> bool:
    """Whether we run as an installed console command (``lstm-mnist-train``) rather than as a
    script of a clone (``python train.py``)."""
    return Path(sys.argv[0]).name.startswith("lstm-mnist-")


INSTALLED_NAMES = {  # pyproject.toml's [project.scripts]
    "train.py": "lstm-mnist-train",
    "evaluate.py": "lstm-mnist-evaluate",
    "predict.py": "lstm-mnist-predict",
    "inspect_digit.py": "lstm-mnist-inspect",
}


def program_name(script: str) -> str:
    """'train.py' from a clone, 'lstm-mnist-train' when installed."""
    return INSTALLED_NAMES[script] if installed() else script


def command_line(script: str) -> str:
    """How to run a program again: 'python train.py' from a clone, 'lstm-mnist-train' when installed."""
    return program_name(script) if installed() else f"python {script}"


def run(main: Callable[[], int | None], prog: str) -> int:
    """Call ``main()`` and turn expected failures into one line on stderr and an exit status."""
    try:
        return main() or 0
    except UsageError as e:
        print(f"{prog}: error: {e} (see --help)", file=sys.stderr)
        return USAGE_ERROR
    except LSTMMnistError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except OSError as e:  # disk full, permissions, ...: no traceback for those either
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
