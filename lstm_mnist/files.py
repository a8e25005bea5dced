"""Files: written so that a reader never sees half of one, read only if they are regular files,
named in text that always prints. Checkpoints, metrics, figures, predictions and the scripts'
results are all written through ``atomic_write``.

Writing goes to a temporary file in the same folder (``.NAME.XXXXXXXX.tmp``), which is flushed
to disk and then renamed over the target (``os.replace``): a reader sees the old file or the new
one, never half of one, whenever the writer stops. A writer killed mid-write leaves its
temporary behind; ``remove_stale_temporaries`` finds exactly those names and nothing else.
train.py removes them at once, under its lock; every other write removes those of its target
that are over ten minutes old (a live writer's temporary is younger: writing it touches it).
``exclusive`` keeps two training runs from writing the same checkpoint at once.

Reading: a path given on the command line may name anything: a FIFO (opening it waits for a
writer forever), a device (``/dev/zero`` never ends), a socket, a folder. ``open_regular`` opens
without blocking, asks the opened file what it is (``fstat``, so there is no race between the
check and the use) and refuses anything but a regular file at once, with one line.

Names: a file name need not be valid UTF-8 (``b'caf\\xe9.png'``): Python carries such bytes as
"surrogate escapes" that no encoder accepts. ``shown`` turns a path into text that can be
printed or written anywhere (``caf\\xe9.png``), on one line (a line break in a name as ``\\n``).
"""

import errno
import json
import os
import re
import shlex
import stat
import sys
import tempfile
import time
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
STALE_AFTER = 600  # seconds: a temporary untouched this long has no live writer


def atomic_write(path: Path, write: Callable[[BinaryIO], object], replace: bool = True) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``; first
    remove the temporaries that killed writers of ``path`` left long ago. A symbolic link is
    written through: the file it points to is replaced, and the link stays. ``replace=False`` (a
    command run without --overwrite): a file another program wrote at ``path`` since the command
    checked it stays, and a ``FileExistsError`` says so (``put_new``)."""
    path = through_links(Path(path))
    remove_stale_temporaries(path, older_than=STALE_AFTER)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{path.name}.", suffix=TEMPORARY_SUFFIX)
    except OSError as e:
        raise named_as_target(e, path)
    try:
        os.chmod(tmp, mode_for(path))  # mkstemp makes it private; a saved file is not, or is as the old one was
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            put_new(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            named_as_target(e, path)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename is still atomic


def put_new(tmp: str, path: Path) -> None:
    """Move the file ``tmp`` to ``path`` unless ``path`` exists, in one step: a hard link never replaces
    (two runs of one command writing one --out: the first keeps its file, the second says so). Where the
    file system has no hard links (FAT, on a USB stick), a look, then the rename."""
    exists = FileExistsError(errno.EEXIST, "written by another program while this one ran; nothing replaced: "
                                           "run again with --overwrite to replace it", os.fspath(path))
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise exists from None
    except OSError:  # no hard links here
        if os.path.lexists(path):
            raise exists from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


WRITING_FAILED = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}  # a write's own errors: no name


def named_as_target(e: OSError, path: Path) -> OSError:
    """``e``, naming ``path`` where it named the temporary ``atomic_write`` writes first: a refusal there (a
    folder made read-only) said '.x.csv.k2j4x9qa.tmp: Permission denied', a name never given; where a write
    named no file at all (a full disk: 'No space left on device'); and once only where the rename named both."""
    if e.filename is not None and is_temporary_of(Path(os.fsdecode(e.filename)).name, path.name):
        e.filename = os.fspath(path)
        if e.filename2 is not None and os.fspath(e.filename2) == e.filename:  # 'x.csv -> x.csv: Is a directory'
            e.filename2 = None
    elif e.filename is None and e.errno in WRITING_FAILED:
        e.filename = os.fspath(path)
    return e


def through_links(path: Path) -> Path:
    """``path``, or where it leads if it is a symbolic link (through every link on the way, to a
    file that may not exist yet): what writing ``path`` should replace. A rename over the link
    itself would replace the link with a file, and leave the file it points to as it was."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def real_path(path: Path | str) -> Path:
    """The absolute path ``path`` leads to, through every link and ``..``: ``Path.resolve`` never raising.
    (Before Python 3.13 it raises RuntimeError for a link in a loop, a -> b -> a, which is left as it is.)"""
    return Path(os.path.realpath(path))


def mode_for(path: Path) -> int:
    """The permission bits a file written to ``path`` gets: those of the file it replaces (a student's
    private 0600 checkpoint stays private on a shared machine), else what the umask allows."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def unreplaceable(path: Path) -> str | None:
    """Why this user cannot replace the existing file ``path`` (as ``atomic_write`` does, by a rename),
    or None: it belongs to another user in a shared folder whose sticky bit lets only a file's owner
    remove it (such as /tmp), or it is write-protected (chmod a-w: kept from being replaced)."""
    path = Path(path)
    me, st, folder = os.geteuid(), os.stat(path), os.stat(path.parent)
    if me != 0 and folder.st_mode & stat.S_ISVTX and me not in (st.st_uid, folder.st_uid):
        return (f"belongs to another user, in {shown(path.parent)}, a shared folder where only its owner may "
                "replace it")
    if not os.access(path, os.W_OK):
        return "is write-protected (no write permission for you; chmod u+w lets it be replaced)"
    return None


def check_umask() -> None:
    """``LSTMMnistError`` if the umask takes a permission away from the owner (``umask 777``, ``umask 277``):
    every file and folder a command writes would then be closed to the user who wrote it (a checkpoint that
    cannot be read, a --plots folder that cannot be entered to fill it). Called before any work."""
    mask = current_umask()
    if mask & 0o700:
        raise LSTMMnistError(f"the umask is {mask:04o}: the files and folders this command writes would be closed to "
                             "you, their owner; set one that leaves them yours first (umask 022, or umask 077 to keep "
                             "them private to you)")


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


def remove_stale_temporaries(path: Path, older_than: float = 0) -> list[Path]:
    """Delete the temporary files that an earlier writer of ``path`` left when it was killed
    mid-write, and nothing else; with ``older_than``, only those untouched for that many seconds.
    Returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = [entry for entry in path.parent.iterdir() if is_temporary_of(entry.name, path.name) and entry.is_file()]
    if older_than:
        stale = [entry for entry in stale if _seconds_untouched(entry) > older_than]
    removed = []
    for tmp in stale:
        try:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except PermissionError:  # another user's, in a shared folder: theirs to remove
            pass
    return removed


def _seconds_untouched(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:  # its writer finished meanwhile
        return 0.0


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
    real = real_path(path)  # one lock for every spelling of the file: a link, a path through ..
    lock = real.parent / f".{real.name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    except PermissionError as e:  # a lock left in a shared folder by another user's run (live, or killed)
        raise LSTMMnistError(f"{shown(path)}: its lock {shown(lock)} cannot be taken ({e.strerror}): another user's "
                             "run is writing it, or was killed while it did; choose another --out") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(lock).st_ino:  # its last holder removed it under us
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise LSTMMnistError(f"{shown(path)}: another run (process {holder}) is writing it right now; wait for it "
                                 "to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # while still holding it: a newcomer then makes a new one
    finally:
        os.close(fd)


KINDS = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
         stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a folder"}


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a FIFO (named pipe)", "a folder", ...)."""
    return next((name for test, name in KINDS.items() if test(mode)), "not a regular file")


def open_regular(path: Path | str, error: type[LSTMMnistError] = LSTMMnistError, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file (or a link to one); else
    ``error`` with one line that names it and what it is (a link to nothing says what it names).
    Never blocks."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        if os.path.islink(path):  # the link is there; what it names is not
            raise error(f"{shown(path)} is a link to {shown(os.readlink(path))}, which does not exist") from None
        raise error(f"{what} {shown(path)} not found{name_note(path)}") from None
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


NO_ACCESS = "ask its owner for access, or copy it into a folder of yours"


def unreachable(path: Path | str) -> str | None:
    """Why ``path`` cannot even be looked at, as one line, or None if it can (or simply does not
    exist): a folder on its way that the user may not enter (no ``x`` permission) makes every name
    in it unreachable, which is not "not found"; so does a link in a loop, or a file, on its way."""
    try:
        os.lstat(path)
    except PermissionError as e:
        return f"{shown(path)}: cannot be reached ({e.strerror}: a folder on its way is closed to you); {NO_ACCESS}"
    except FileNotFoundError:
        return None
    except OSError as e:  # a link in a loop on its way, a file where a folder should be, a path too long
        return f"{shown(path)}: cannot be reached ({e.strerror})"
    return None


def described(e: OSError) -> str:
    """An ``OSError`` as one plain line: the file it concerns and the system's words for the problem
    ("runs/x.pt: Permission denied"), never Python's ``[Errno 13] ...: 'runs/x.pt'``; a refused access
    says what to do."""
    names = " -> ".join(shown(name) for name in (e.filename, e.filename2) if name is not None)
    text = f"{names}: {e.strerror}" if names and e.strerror else (e.strerror or last_line(e))
    if isinstance(e, PermissionError):
        text += "; check its permissions, or use a file or folder of yours"
    return text


def last_line(e: BaseException) -> str:
    """An exception's message as one short line: its last line that holds anything, shown (control characters
    escaped), or the exception's name if it has no message."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return shown(lines[-1]) if lines else type(e).__name__


def decoded(text: Path | str) -> str:
    """A path (or a word given on the command line) as text that any encoder takes: bytes that are
    not UTF-8 come out as ``\\xe9`` escapes."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # what ends a line or drives a terminal
CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(path: Path | str) -> str:
    """A path as printable text on one line: bytes that are not UTF-8 come out as ``\\xe9`` escapes,
    and control characters (a line break, a terminal's escape) as ``\\n`` or ``\\x1b``: a name
    holding them would split a one-line message, or drive the terminal that shows it."""
    return CONTROL.sub(lambda m: CONTROL_NAMES.get(m[0]) or (f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256
                                                           else f"\\u{ord(m[0]):04x}"), decoded(path))


def stray_space(path: Path | str) -> str:
    """For a name that was not found: a note when its last part begins or ends with white space, which no
    message can show ('data ' pasted with its space, a no-break space copied from a web page, MNIST_DIR=' '),
    naming the name without it where that exists; "" for any other name."""
    name = Path(path).name or str(path)  # Path(' ').name is ' '; Path('') has none
    if name == name.strip():
        return ""
    if not name.strip():
        return " (the name is only white space)"
    bare = Path(path).parent / name.strip()  # not with_name: ' .' stripped is '.', which it refuses (ValueError)
    starts, ends = name[0].isspace(), name[-1].isspace()
    where = "begins and ends" if starts and ends else "begins" if starts else "ends"
    return f" (the name {where} with white space" + (f"; {shown(bare)}, without it, exists)"
                                                     if os.path.lexists(bare) else ")")


def unexpanded_home(path: Path | str, written: bool = False) -> str:
    """For a name not found (or in a folder not found) that begins with '~', which no shell expanded (bash
    expands it only at the start of a word: not in ``--out=~/x.pt``, nor inside quotes), a note naming the
    path meant (said to be missing too, unless it is a path to write); "" for any other name. 'folder ~ does
    not exist; create it first' asked for a folder named '~'."""
    text = os.fsdecode(path)
    meant = os.path.expanduser(text)
    if not text.startswith("~") or meant == text:
        return ""
    either = "" if written or os.path.lexists(meant) else ", which does not exist either"
    return (" (a '~' there is taken as it is: only the shell expands it, at the start of a word, not after '=' nor "
            f"inside quotes; the path meant is {shown(meant)}{either})")


def create_it_first(given: Path | str, folder: Path | str) -> str:
    """What follows "folder FOLDER does not exist" for a path to write, ``given`` (in ``folder``, or naming it): a
    '~' no shell expanded (``--out=~/x.pt``: not a folder '~' to make), else white space in the folder's name,
    then the way out."""
    return unexpanded_home(given, written=True) or f"{stray_space(folder)}; create it first"


def name_note(path: Path | str) -> str:
    """What a name not found may hide that its message cannot show: a '~' no shell expanded, white space."""
    return unexpanded_home(path) or stray_space(path)


def shell_word(text: Path | str) -> str:
    """``text`` as one word for a shell command line the user can paste: quoted as ``shlex.quote``
    does, or, for a name that is not UTF-8, holds a control character or cannot be printed in the
    output's encoding (LC_ALL=C: an 'é' would come out as the text ``\\xe9``), as bash's
    ``$'caf\\xe9.pt'``, which means those bytes."""
    raw = os.fsencode(text)
    try:
        word = raw.decode("utf-8")
        if not CONTROL.search(word) and printable(word):  # a line break would split the command line
            return shlex.quote(word)
    except UnicodeDecodeError:
        pass
    return "$'" + "".join(chr(b) if 32 <= b < 127 and b not in b"'\\" else f"\\x{b:02x}" for b in raw) + "'"


def printable(text: str) -> bool:
    """Whether standard output and standard error can both show ``text`` as it is (their encodings)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            text.encode(getattr(stream, "encoding", None) or "utf-8")
        except UnicodeEncodeError:
            return False
        except LookupError:  # an encoding Python does not know: it could not have opened the stream
            pass
    return True


def path_word(path: Path | str) -> str:
    """A path as one word of a command line to paste (``shell_word``): a relative name that begins
    with '-' gets a leading './', else the program would read it as an option (``--resume -x.pt``:
    'expected one argument'; ``evaluate.py -x.pt``: an unknown flag)."""
    text = os.fsdecode(path)
    return shell_word(f".{os.sep}{text}" if text.startswith("-") else text)


def write_json(path: Path, value, replace: bool = True) -> None:
    """``value`` as indented JSON (a script's numbers), written atomically (``replace``: as ``atomic_write``)."""
    text = json.dumps(value, indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")), replace=replace)


def read_marked(path: Path, start: str, end: str) -> str:
    """The text of a file that holds the lines ``start`` and ``end`` (around a README's generated
    table); ``LSTMMnistError`` in one line if it is missing, not UTF-8 text or lacks the markers.
    Scripts call it before their work, so that a bad README is found first."""
    with open_regular(path, what="README") as f:
        try:
            content = f.read().decode("utf-8")
        except UnicodeDecodeError:
            raise LSTMMnistError(f"{shown(path)} is not UTF-8 text") from None
    if start not in content or end not in content:
        raise LSTMMnistError(f"{shown(path)} has no {start} ... {end} markers for the table")
    return content


def replace_marked_section(path: Path, start: str, end: str, text: str) -> None:
    """Replace what stands between the lines ``start`` and ``end`` of a text file (a README's
    generated table) with ``text``, atomically. Raises ``LSTMMnistError`` as ``read_marked`` does."""
    path = Path(path)
    content = read_marked(path, start, end)
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{text}\n{end}{tail}"
    atomic_write(path, lambda f: f.write(new.encode("utf-8")))
