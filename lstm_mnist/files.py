"""Writing files so that a reader never sees half of one: checkpoints, metrics, figures,
predictions and the scripts' results all go through ``atomic_write``.

Writing goes to a temporary file in the same folder (``.NAME.XXXXXXXX.tmp``), which is flushed
to disk and then renamed over the target (``os.replace``): a reader sees the old file or the new
one, never half of one, whenever the writer stops. A writer killed mid-write leaves its
temporary behind; ``remove_stale_temporaries`` finds exactly those names and nothing else.
``exclusive`` keeps two training runs from writing the same checkpoint at once.
"""

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import LSTMMnistError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".", ".tmp"  # around the target's name and mkstemp's random part
RANDOM_PART = re.compile(r"[a-z0-9_]{8}")  # what tempfile.mkstemp puts between prefix and suffix


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it private; a saved file is not
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename is still atomic


def current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def is_temporary_of(candidate: str, target: str) -> bool:
    """Whether the file name ``candidate`` is one that ``atomic_write(target)`` makes: the exact
    name, compared as text (a ``*`` or ``[1]`` in ``target`` is not a pattern)."""
    head, tail = f"{TEMPORARY_PREFIX}{target}.", TEMPORARY_SUFFIX
    return (candidate.startswith(head) and candidate.endswith(tail)
            and RANDOM_PART.fullmatch(candidate[len(head) : len(candidate) - len(tail)]) is not None)


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files that an earlier writer of ``path`` left when it was killed
    mid-write, and nothing else. Returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = [entry for entry in path.parent.iterdir() if is_temporary_of(entry.name, path.name) and entry.is_file()]
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


@contextmanager
def exclusive(path: Path, enabled: bool = True) -> Iterator[None]:
    """Within ``with exclusive(path):`` this process alone may write ``path``: a second process
    that tries while the first runs gets a one-line ``LSTMMnistError`` at once. The lock is the
    kernel's (``flock`` on ``.NAME.lock`` beside ``path``, removed at the end), so a process that
    is killed releases it with its life and never leaves it stuck. Without ``fcntl`` (Windows),
    or with ``enabled=False``, it locks nothing."""
    if not enabled or fcntl is None:
        yield
        return
    lock = Path(path).parent / f".{Path(path).name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(lock).st_ino:  # its last holder removed it under us
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise LSTMMnistError(f"{path}: another run (process {holder}) is writing it right now; wait for it "
                                 "to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # while still holding it: a newcomer then makes a new one
    finally:
        os.close(fd)
