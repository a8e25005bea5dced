"""What the commands share: argument types, the device, error reporting, their names.

Every problem the user can fix ends the program with one line on stderr, never a
traceback: exit status 2 for a bad command line (argparse's convention), 1 for anything
else (missing data, a bad checkpoint, a diverged run), 130 after Ctrl-C.
"""

import argparse
import ast
import errno
import logging
import math
import os
import re
import shlex
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import torch

from .config import LR_MAX, LR_MIN
from .data import MAX_SEED, NUM_CLASSES, default_data_dir
from .errors import LSTMMnistError, UsageError, in_flags
from .evaluation import unfit_name
from . import checkpoint as ckpt, files
from .files import decoded, kind, shown
from .model import FLOAT32_MAX, count_parameters
from .startup import INSTALLED_NAMES, INTERRUPTED, QuitAtOnce
from .words import counted

USAGE_ERROR = 2
BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell shows for a program stopped by a closed pipe


# Every negative number, as a flag's value: argparse's own pattern knows only '-1' and '-.5', and reads
# '-1e-3' or '-inf' as an unknown option ('--lr -1e-3: expected one argument'), not as the value to check
NEGATIVE_NUMBER = re.compile(r"^-(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(e[-+]?\d[\d_]*)?j?$|^-(inf|infinity|nan)$",
                             re.IGNORECASE)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message (usage errors exit with status 2), and any negative
    number taken as a value (no flag of this project looks like one)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER
        self.words: list[str] = []  # the command line being parsed, for dash_hint

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}{self.dash_hint()} (see --help)\n")

    def dash_hint(self) -> str:
        """A file named ``-x.png`` is read as a flag (argparse: 'expected one argument', 'unrecognized
        arguments', or a required name missing): where a word of the command line begins with '-', is no
        flag of this program and names a file or folder here, how to give it. Words argparse reads as values
        are left out: a negative number ('-3'), and every word after '--'."""
        words = self.words
        if "--" in words:  # after it every word is a value, whatever it begins with
            words = words[:words.index("--")]
        for word in words:
            if (word.startswith("-") and word != "-" and word.split("=")[0] not in self._option_string_actions
                    and not self._negative_number_matcher.match(word) and os.path.lexists(word)):
                return f"; {shown(word)} begins with '-', so it was read as a flag: write it as ./{shown(word)}"
        return ""

    def parse_known_args(self, args=None, namespace=None):
        self.words = list(sys.argv[1:] if args is None else args)  # the command line, for dash_hint
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        """argparse's, but the words left over are named a few at a time (``some_of``): a shell's glob
        (``predict.py m.pt digits/*.png``) put thousands of names on the error's one line."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            self.unrecognized(extras)
        return namespace

    def unrecognized(self, extras: list[str]):
        """The usage error for words no argument took, named a few at a time."""
        self.error(f"unrecognized arguments: {some_of(extras)}")

    def _print_message(self, message: str, file=None) -> None:
        """argparse's, but the help on stdout is written at once and a failure raised, not ignored: --help >
        /dev/full (or on a full disk) exited 0 with no help written; ``run`` reports it in one line (exit 1,
        or 141 for a closed pipe). A message to stderr that fails has nowhere to be told: ignored, as before."""
        if message and file is not None and file is sys.stdout:
            file.write(message)
            file.flush()
        else:
            super()._print_message(message, file)


def docstring(doc: str | None, file: str) -> str:
    """A module's docstring, for its --help's description: ``doc`` (the module's ``__doc__``), or, under
    ``python -OO``, which strips docstrings (``__doc__`` is None: every run of train.py, evaluate.py,
    predict.py, inspect_digit.py and the web page ended in an AttributeError, and the scripts' --help lost its
    text), read back from the module's source ``file``; "" if there is none to read."""
    if doc is not None:
        return doc
    try:
        return ast.get_docstring(ast.parse(Path(file).read_bytes()), clean=False) or ""
    except (OSError, SyntaxError, ValueError):
        return ""


MOST_NAMED = 3  # words a usage error names; the others are counted


def some_of(words: list[str]) -> str:
    """The first few ``words`` (escaped as ``shown`` does), and how many more: "a b c and 2,997 more"."""
    named_words = " ".join(shown(word) for word in words[:MOST_NAMED])
    more = len(words) - MOST_NAMED
    return f"{named_words} and {more:,} more" if more > 0 else named_words


class Distinct(argparse.Action):
    """A list flag (``nargs="+"``) whose values must differ: ``--seeds 0 0`` would run the same work
    twice, or once where twice was asked for; a usage error names the repeated value. Given twice
    (``--seeds 0 --seeds 1``), the flag's values add up, as in ``--seeds 0 1`` (argparse would keep the last)."""

    def __call__(self, parser, namespace, values, option_string=None):
        earlier = getattr(namespace, self.dest, None)
        if earlier is not self.default:  # the flag was given before in this command line
            values = [*earlier, *values]
        repeated = [v for k, v in enumerate(values) if v in values[:k]]
        if repeated:
            parser.error(f"{option_string}: {shown(str(repeated[0]))} is given more than once; give each value once")
        setattr(namespace, self.dest, values)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks (each flag's help states its default). Installed, the
    programs are named as the commands they are (``named``), in the description and every flag's help."""

    def _format_text(self, text):
        return super()._format_text(named(text))

    def _expand_help(self, action):
        return named(super()._expand_help(action))


TORCHRUN = re.compile(r"torchrun (--nproc_per_node=\S+) (?:python )?train\.py( *)")
SCRIPT = re.compile(r"(?<![\w/.-])(?:python )?(train|evaluate|predict|inspect_digit)\.py\b")


def named(text: str) -> str:
    """``text`` with the clone's programs (``python train.py``, ``train.py``) named as installed
    commands (``lstm-mnist-train``) when this runs as one: a student with the package installed has
    no train.py to run. ``torchrun`` runs an installed command with ``--no-python``."""
    if not installed():
        return text
    def torchrun(m: re.Match) -> str:  # the comment after it stays in its column where it can
        new = f"torchrun {m[1]} --no-python {INSTALLED_NAMES['train.py']}"
        return new + (" " * max(2, len(m[0]) - len(new)) if len(m[2]) > 1 else m[2])

    text = TORCHRUN.sub(torchrun, text)
    return SCRIPT.sub(lambda m: INSTALLED_NAMES[f"{m[1]}.py"], text)


NAME_MAX = 255  # bytes in a file name, on every common file system
LONGEST_NAME = NAME_MAX - 14  # files.atomic_write first writes .NAME.XXXXXXXX.tmp: 14 bytes longer
MAX_WHOLE = 2**31 - 1  # any count or index: far above every real use, far below what tensors index
MAX_BATCH = 1_000_000  # images per step or forward pass (MNIST has 70,000)


def nonempty_path(text: str) -> Path:
    """A path flag's value: an empty one ('') would silently mean the current folder."""
    if not text:
        raise argparse.ArgumentTypeError("is empty; give a path")
    return Path(text)


def output_file(text: str) -> Path:
    """A flag's value naming a file to write. Not empty, and not a name that ends in a folder
    ('runs/', 'runs/.'): ``Path`` would drop the slash, and the file 'runs' be written instead."""
    path = nonempty_path(text)
    if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
        raise argparse.ArgumentTypeError(f"{shown(text)} names a folder; give the name of a file (in it, or elsewhere)")
    return path


def in_ascii(text: str, what: str) -> str:
    """``text``, a flag's number: int() and float() read any script's digits and spaces ('３', '٣', an em
    space), and took --epochs ３ (typed with an East Asian input method) for 3. Refused alike in every
    number flag, as a usage error."""
    if not text.isascii():
        raise argparse.ArgumentTypeError(f"expected {what} written with the digits 0-9, got {text[:40]!r}")
    return text


def whole_number(text: str, minimum: int, maximum: int = MAX_WHOLE) -> int:
    try:
        value = int(in_ascii(text, "a whole number"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text.strip()[:40]}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, minimum=1)


def non_negative_int(text: str) -> int:
    return whole_number(text, minimum=0)


def batch_size(text: str) -> int:
    return whole_number(text, minimum=1, maximum=MAX_BATCH)


def seed(text: str) -> int:
    """0 to MAX_SEED: the batch order and the augmentation derive 64-bit generator seeds from it."""
    return whole_number(text, minimum=0, maximum=MAX_SEED)


def finite_float(text: str) -> float:
    try:
        value = float(in_ascii(text, "a number"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    if abs(value) > FLOAT32_MAX:
        raise argparse.ArgumentTypeError(f"must be a finite number in float32 (at most {FLOAT32_MAX:.3g} in size), "
                                         f"got {text.strip()[:40]}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def learning_rate(text: str) -> float:
    """Adam's learning rate: from LR_MIN to LR_MAX (config.py says why)."""
    value = positive_float(text)
    if not LR_MIN <= value <= LR_MAX:
        raise argparse.ArgumentTypeError(f"must be from {LR_MIN:g} to {LR_MAX:g} (Adam, in float32), "
                                         f"got {text.strip()[:40]}")
    return value


def class_names(text: str) -> tuple[str, ...]:
    """Ten distinct comma-separated names, one per label 0..9 ("T-shirt,Trouser,..."). Bytes that
    are not UTF-8 are kept as ``\\xe9`` escapes, so every name can be printed and saved."""
    names = tuple(decoded(name).strip() for name in text.split(","))
    if len(names) != NUM_CLASSES:
        raise argparse.ArgumentTypeError(f"expected {NUM_CLASSES} non-empty comma-separated names, got {len(names)}")
    unfit = [(k, unfit_name(name)) for k, name in enumerate(names) if unfit_name(name)]
    if unfit:
        k, why = unfit[0]
        raise argparse.ArgumentTypeError(f"the name of label {k} {why} (10 names, for labels 0..9)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        where = "; ".join(f"{name!r} for labels {', '.join(str(k) for k, n in enumerate(names) if n == name)}"
                          for name in repeated)
        raise argparse.ArgumentTypeError(f"each label needs its own name, got {where}")
    return names


def device_name(text: str) -> str:
    """'auto', 'cpu', 'cuda' or 'cuda:N' (checked against the machine later, by resolve_device)."""
    name = text.strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isascii() and name[5:].isdecimal()):
        return name
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


def add_device_flag(parser) -> None:
    """--device, as every command takes it (checked against the machine by resolve_device)."""
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N (default: auto)")


def add_data_dir_flag(parser) -> None:
    """--data-dir, as every command that reads MNIST takes it."""
    parser.add_argument("--data-dir", type=nonempty_path, default=default_data_dir(), metavar="DIR",
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
        devices = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
        raise ValueError(f"--device {name}: this machine has {counted(count, 'CUDA device')}, {devices}")
    return torch.device("cuda", index), f"device: cuda:{index} ({torch.cuda.get_device_name(index)})"


def device_from_flag(parser: argparse.ArgumentParser, name: str) -> tuple[torch.device, str]:
    """``resolve_device``, with a device this machine does not have a usage error (exit 2)."""
    try:
        return resolve_device(name)
    except ValueError as e:
        parser.error(str(e))


def check_output_path(path: Path, may_replace: bool, needed_bytes: int = 0, flag: str = "--out",
                      if_exists: str = "choose another --out, or pass --overwrite", inputs=(),
                      unwritable: str | None = None) -> None:
    """Fail before any work if ``path`` (given as ``flag``) cannot be written, would clobber a
    file (``if_exists`` says what to do instead) or one of the command's own ``inputs``, is not
    a regular file, cannot be replaced by this user (another's, in a shared folder; write-protected),
    or would not fit on its disk (``needed_bytes`` twice over: the old file stays until the new one
    is complete). Raises ``UsageError``; ``unwritable`` is the way out when its folder cannot be
    written (default: another ``flag``).

    Folders: a command writes the file (or, for ``--plots``, the folder) it is asked to write,
    never the folders above it: a missing one is refused, in every command alike. A folder on the
    way that the user may not enter (no x permission) is refused like a read-only one."""
    way_out = unwritable or f"choose another {flag} in a folder you can write"
    files.check_umask()
    try:
        _check_output_path(Path(path), may_replace, needed_bytes, flag, if_exists, inputs, way_out)
    except PermissionError as e:  # looking at a name in a folder closed to the user
        where = shown(Path(e.filename).parent if e.filename is not None else Path(path).parent)
        raise UsageError(f"{flag} {shown(path)}: cannot write in {where} ({e.strerror}); {way_out}") from None


def _check_output_path(given: Path, may_replace: bool, needed_bytes: int, flag: str, if_exists: str, inputs,
                       way_out: str) -> None:
    name = f"{flag} {shown(given)}"
    check_reachable(given, flag)
    # what it is, through any link: /dev/stdout into a pipe is a FIFO (resolved, a /proc name that is nowhere)
    if given.exists() and not given.is_file() and not given.is_dir():
        raise UsageError(f"{name}: exists and is {kind(given.stat().st_mode)}, not a file to replace")
    path = files.through_links(given)  # a symbolic link: the file it points to is written, and checked here
    check_name_length(path, flag, given if path != given else None)
    if path.is_dir():
        raise UsageError(f"{name}: is a folder; give the name of a file in it")
    parent = path.parent
    if not parent.is_dir():
        existing = next(p for p in (parent, *parent.parents) if os.path.lexists(p))  # the nearest that exists
        if not existing.is_dir():
            raise UsageError(f"{name}: {shown(existing)} is in the way: it is a file, not a folder")
        raise UsageError(f"{name}: folder {shown(parent)} does not exist{files.create_it_first(given, parent)}")
    for input_ in inputs:
        if same_file(path, Path(input_)):
            if not os.path.lexists(input_):  # a name the data is also read from (data.files_read_from)
                raise UsageError(f"{name}: is a name this command reads its data from; a file there would be "
                                 f"read in place of the real one: choose another {flag}")
            raise UsageError(f"{name}: is this command's own input {shown(input_)}; it would be written over: "
                             f"choose another {flag}")
    if path.exists() and not may_replace:
        raise UsageError(f"{name}: exists; {if_exists}")
    why = files.unreplaceable(path) if path.exists() else None
    if why:  # the folder can be written: another name there would do
        raise UsageError(f"{name}: {why}; choose another {flag}")
    probe = parent / f".lstm-mnist-write-test-{os.getpid()}"  # a short name: path.name may be near the limit
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{name}: cannot write in {shown(parent)} ({e.strerror}); {way_out}") from None
    free = shutil.disk_usage(parent).free
    if free < 2 * needed_bytes:
        raise UsageError(
            f"{flag} {shown(path)}: only {free / 1e6:.1f} MB free in {shown(parent)}; it needs about "
            f"{2 * needed_bytes / 1e6:.1f} MB "
            f"(a {needed_bytes / 1e6:.1f} MB file, twice while the old one is replaced): free some space or choose "
            f"another {flag}"
        )


def check_compiler(asked_by: str, way_out: str, devices) -> None:
    """``LSTMMnistError`` (the machine's problem: exit 1) before any work if the C++ compiler torch.compile
    builds a CPU's code with cannot be found: ``$CXX`` alone, or where it is unset g++ (clang++ on a Mac), as
    inductor's ``cpp.cxx`` (it tries no other). A check for c++ or clang++ passed where g++ was missing, and the
    first compiled step ended in a traceback. On CUDA, inductor writes Triton kernels: no C++ compiler to check."""
    if all(torch.device(device).type != "cpu" for device in devices):
        return
    default = "clang++" if sys.platform == "darwin" else "g++"
    cxx = os.environ.get("CXX")
    try:
        command = shlex.split(cxx) if cxx is not None else [default]
    except ValueError:  # an unbalanced quote
        command = []
    if not command or shutil.which(command[0]) is None:
        named = f"CXX={cxx!r}, which it runs," if cxx is not None else f"{default}, which it runs where CXX is unset,"
        raise LSTMMnistError(f"{asked_by} needs a C++ compiler for torch.compile on a CPU: {named} was not found; "
                             f"install {default} (e.g. apt-get install g++) or set CXX to a compiler, or {way_out}")


def compile_failed(e: BaseException) -> str | None:
    """What torch.compile's error ``e`` says, in one line (its first and last lines), or None if it is not
    one: what the check before cannot foresee (a compiler failing on the generated code, a cache it cannot
    write) ended in its long traceback."""
    if not type(e).__module__.startswith(("torch._dynamo", "torch._inductor")):
        return None
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    said = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}" if lines else type(e).__name__
    return shown(said[:300])


def check_rewritable(path: Path, start: str, end: str, flag: str = "--readme") -> None:
    """Before any work, for a text file a script rewrites in place (a README's generated table, between the
    lines ``start`` and ``end``): readable, with its markers (``files.read_marked``: ``LSTMMnistError``), and
    replaceable by this user (``check_output_path``: ``UsageError``): not write-protected, nor another user's in
    a shared folder, in a folder that can be written. A write-protected README was replaced all the same, and
    one in a read-only folder refused only once the work was done, under its temporary's name."""
    files.read_marked(path, start, end)
    check_output_path(path, may_replace=True, flag=flag)


UNREACHABLE = {errno.ELOOP: "a symbolic link on its way leads back to itself",  # a -> b -> a
               errno.ENAMETOOLONG: "the path is longer than the system takes"}  # PATH_MAX, 4096 bytes on Linux


def check_reachable(path: Path, flag: str) -> None:
    """A ``UsageError`` if ``path`` cannot even be looked up (``UNREACHABLE``): ``Path.exists`` says False
    for a link in a loop (and, before Python 3.13, ``Path.resolve`` raises RuntimeError), yet nothing can
    be written there; a path too long ended in an OSError, not a usage error."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno in UNREACHABLE:
            raise UsageError(f"{flag} {shown(path)}: {UNREACHABLE[e.errno]} ({e.strerror}); choose another {flag}"
                             + (", or remove the link" if e.errno == errno.ELOOP else "")) from None


def check_name_length(path: Path, flag: str, given: Path | None = None) -> None:
    """A ``UsageError`` if the file ``path`` (made from ``given``, the flag's value, if that differs)
    has a name too long to write: every file is first written as ``.NAME.XXXXXXXX.tmp``
    (files.atomic_write), 14 bytes longer, within the file system's 255."""
    length = len(os.fsencode(Path(path).name))
    if length > LONGEST_NAME:
        what = f"{shown(path)}, the file it names," if given is not None else "its name"
        raise UsageError(f"{flag} {shown(given or path)}: {what} is {length} bytes long; at most {LONGEST_NAME} here "
                         f"(the file system allows {NAME_MAX}, and a file is first written under a longer temporary "
                         "name)")


def check_output_folder(folder: Path, names, flag: str, inputs=()) -> None:
    """``check_output_path`` for a folder the command fills with ``names`` (replacing them):
    an existing folder's files are checked; a missing folder needs its parent, where it is made."""
    folder = Path(folder)
    files.check_umask()
    check_name_length(folder, flag)
    check_reachable(folder, flag)
    try:
        _check_output_folder(folder, names, flag, inputs)
    except PermissionError as e:  # a folder on the way closed to the user
        raise UsageError(f"{flag} {shown(folder)}: cannot write in {shown(Path(e.filename or folder).parent)} "
                         f"({e.strerror}); choose another {flag} in a folder you can write") from None


def _check_output_folder(folder: Path, names, flag: str, inputs) -> None:
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{flag} {shown(folder)}: exists and is not a folder")
    if folder.is_dir():
        for name in names:
            check_output_path(folder / name, may_replace=True, flag=flag, inputs=inputs)
    else:
        check_output_path(folder, may_replace=False, flag=flag)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links, ``..`` and the like; a link in a loop is no file)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet), or is a link in a loop
        return files.real_path(a) == files.real_path(b)


def memory_of(device: torch.device) -> tuple[int, str]:
    """The memory a model on ``device`` can use, in bytes, and where that is, in words."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory, f"{device}'s memory"
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's memory"


def check_model_size(config, device: torch.device, copies: int = 1) -> None:
    """A ``UsageError`` (one line) if training ``copies`` models of ``config`` at once (the benchmark
    holds several) cannot fit in the device's memory: weights, gradients and Adam's two moments, in
    float32 (16 bytes a parameter), before the activations. Checked before anything is allocated."""
    n = count_parameters(config)
    needed = 16 * n * copies
    available, where = memory_of(device)
    if needed > available:
        models = (f"the {config.cell.upper()} model would have" if copies == 1
                  else f"the {copies} models would each have")
        raise UsageError(f"--hidden-size {config.hidden_size}: {models} {n:,} parameters; training them needs at least "
                         f"{needed / 1e9:,.1f} GB (weights, gradients and Adam's two moments in float32), more than "
                         f"the {available / 1e9:,.1f} GB of {where}; choose a smaller --hidden-size")


def installed() -> bool:
    """Whether we run as an installed console command (``lstm-mnist-train``) rather than as a
    script of a clone (``python train.py``)."""
    return Path(sys.argv[0]).name.startswith("lstm-mnist-")


def program_name(script: str) -> str:
    """'train.py' from a clone, 'lstm-mnist-train' when installed."""
    return INSTALLED_NAMES[script] if installed() else script


def command_line(script: str) -> str:
    """How to run a program again: 'python train.py' from a clone, 'lstm-mnist-train' when installed."""
    return program_name(script) if installed() else f"python {script}"


def unfinished_run(checkpoint: dict, path: Path, data_dir: Path | None = None) -> str | None:
    """For the checkpoint of a run stopped before its test evaluation, what every program that reads it says
    (its weights are those of a model still in training: a student's 33% is not a bad model):
    'an unfinished run (stopped after epoch 1 of 3); python train.py --resume run.pt goes on with it'. Else None."""
    where = ckpt.unfinished(checkpoint)
    if where is None:
        return None
    data = f" --data-dir {files.path_word(data_dir)}" if data_dir is not None else ""
    return (f"an unfinished run ({where}); {command_line('train.py')} --resume {files.path_word(path)}{data} "
            "goes on with it")


def warn_if_unfinished(checkpoint: dict, path: Path, prog: str, data_dir: Path | None = None) -> None:
    """One line on stderr (stdout may be a CSV in a pipe) when ``path`` is an unfinished run's checkpoint."""
    unfinished = unfinished_run(checkpoint, path, data_dir)
    if unfinished:
        print(f"{prog}: {shown(path)} is from {unfinished}", file=sys.stderr)


def quiet_toolkit_warning() -> None:
    """torch.compile (train.py --compile, the benchmark) loads torch.utils.cpp_extension, which on a machine
    with the CUDA toolkit and no usable GPU warns 'No CUDA runtime is found, using CUDA_HOME=...': noise in a
    run on the CPU (a program asked for CUDA where there is none says so itself, in one line). That one
    message is filtered out; the logger's other warnings stay."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    if no_toolkit_warning not in logger.filters:  # cli.run may be called again in one process (the tests)
        logger.addFilter(no_toolkit_warning)


def no_toolkit_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("No CUDA runtime is found")


def run(main: Callable[[], int | None], prog: str) -> int:
    """Call ``main()`` and turn expected failures into one line on stderr (one per problem) and
    an exit status. Text the terminal's encoding cannot show comes out escaped, never as a crash;
    a closed stdout or stderr (``2>&-``) is written to nowhere; output piped into a reader that
    stops early (``| head``) ends the program quietly; SIGTERM stops it as Ctrl-C does (train.py
    has its own handler, which saves a checkpoint first). Ctrl-C before ``main`` starts and after
    it ends is startup.py's: one line, exit 130, at once."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    for stream in (sys.stdout, sys.stderr):  # 'surrogateescape': a C locale without UTF-8 mode, which takes no 'é'
        if getattr(stream, "errors", None) in ("strict", "surrogateescape") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    guard = signal.getsignal(signal.SIGINT) if main_thread else None
    quiet_toolkit_warning()
    try:
        if isinstance(guard, QuitAtOnce):  # Ctrl-C in the work: a KeyboardInterrupt, reported below
            signal.signal(signal.SIGINT, signal.default_int_handler)
        status = main() or 0
        sys.stdout.flush()  # what is still buffered: a full disk is one line here, not Python's 'Exception ignored'
        return status
    except BrokenPipeError:  # the reader of our output has gone: nothing more to say, to anyone
        settle_stdout()
        return BROKEN_PIPE
    except UsageError as e:  # a library's setting named as the flag (errors.in_flags), here and below
        print(f"{prog}: error: {in_flags(e)} (see --help)", file=sys.stderr)
        return USAGE_ERROR
    except LSTMMnistError as e:
        for line in in_flags(e).splitlines() or [""]:
            print(f"{prog}: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except OSError as e:  # disk full, permissions, ...: no traceback for those either, nor '[Errno 13]'
        settle_stdout()  # stdout on a full disk (> /dev/full): said once, here
        print(f"{prog}: error: {files.described(e)}", file=sys.stderr)
        return 1
    except (MemoryError, RuntimeError) as e:
        if not out_of_memory(e):
            raise  # a bug: its traceback is what a report needs
        print(f"{prog}: error: {out_of_memory(e)}", file=sys.stderr)
        return 1
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if isinstance(guard, QuitAtOnce):  # the program exits: Ctrl-C ends it at once again
            signal.signal(signal.SIGINT, guard)


def settle_stdout() -> None:
    """Flush stdout; if it cannot be written (a reader gone, a full disk), point it at /dev/null, so that
    Python's own flush at exit cannot fail again: 'Exception ignored ... OSError' and status 120."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def out_of_memory(e: BaseException) -> str | None:
    """A line for the user if ``e`` says the memory ran out (Python's MemoryError, PyTorch's CPU
    allocator or CUDA's), else None. The checks before a run count the model, not each batch's work."""
    text = str(e)
    if not (isinstance(e, (MemoryError, torch.cuda.OutOfMemoryError)) or "can't allocate memory" in text):
        return None
    cpu = re.search(r"allocate (\d+) bytes", text)  # PyTorch's CPU allocator: "you tried to allocate N bytes"
    cuda = re.search(r"allocate ([\d.]+ [KMGT]?i?B)", text)  # CUDA's: "Tried to allocate 2.00 GiB"
    asked = f"{int(cpu[1]) / 1e9:.1f} GB" if cpu else cuda[1] if cuda else None
    return (f"out of memory{f' (it asked for {asked} at once)' if asked else ''}: try a smaller --batch-size "
            "or a smaller model, or close other programs")


def _interrupt(signum, frame):
    raise KeyboardInterrupt
