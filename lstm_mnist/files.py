"""Opening the files a user names: regular files only, and names that always print.

A path given on the command line may name anything: a FIFO (opening it waits for a writer
forever), a device (``/dev/zero`` never ends), a socket, a folder. ``open_regular`` opens
without blocking, asks the opened file what it is (``fstat``, so there is no race between
the check and the use) and refuses anything but a regular file at once, with one line.

A file name need not be valid UTF-8 (``b'caf\\xe9.png'``): Python carries such bytes as
"surrogate escapes" that no encoder accepts. ``shown`` turns a path into text that can be
printed or written anywhere (``caf\\xe9.png``).
"""

import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import LSTMMnistError

KINDS = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
         stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a folder"}


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a FIFO (named pipe)", "a folder", ...)."""
    return next((name for test, name in KINDS.items() if test(mode)), "not a regular file")


def open_regular(path: Path | str, error: type[LSTMMnistError] = LSTMMnistError, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file (or a link to one); else
    ``error`` with one line that names it and what it is. Never blocks."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{what} {shown(path)} not found") from None
    except IsADirectoryError:
        raise error(f"{shown(path)} is a folder, not a {what}") from None
    except OSError as e:
        raise error(f"{shown(path)}: cannot open ({e.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{shown(path)} is {kind(mode)}, not a regular file; give the {what} itself")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def check_regular(path: Path | str, error: type[LSTMMnistError] = LSTMMnistError, what: str = "file") -> None:
    """Raise ``error`` unless ``path`` is a regular file that can be opened (see ``open_regular``)."""
    open_regular(path, error, what).close()


def shown(path: Path | str) -> str:
    """A path as printable text: bytes that are not UTF-8 come out as ``\\xe9`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
