"""Before PyTorch loads: Ctrl-C while one of the project's programs starts (one line, exit status 130, no
traceback), and an environment it could not load in or would misread (one line, exit status 1).

Every program imports PyTorch (a second or more) before it reaches ``cli.run``, which reports a
Ctrl-C during the work. A KeyboardInterrupt raised inside that import would end in a traceback,
or, raised inside PyTorch's C++ code, abort the process (exit 134, ``what(): KeyboardInterrupt``).
So the package's ``__init__`` calls ``guard`` before it imports PyTorch: when the package is
imported by one of the project's programs (``train.py``, ``scripts/*.py``, ``python -m
lstm_mnist.web``, an installed ``lstm-mnist-*`` command), Ctrl-C from then on prints
"NAME: interrupted" and ends the process at once with status 130, raising nothing.

``cli.run`` gives Ctrl-C back to Python (a KeyboardInterrupt, which it reports) for the work
itself, and the guard back once the work is done. When Python, exiting, has flushed the output
and starts taking itself apart, Ctrl-C is ignored: the work is done, and the signal would kill
the process without a word. Imported by anything else (a notebook, the tests, your own program),
the package changes nothing.

The package's ``__init__`` also calls ``check_environment``, which ends one of those programs with one
line and exit status 1 where PyTorch could not load or would misread what it finds: a current folder
deleted under the shell, a required package missing from this Python, a thread variable
(``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``GOMP_CPU_AFFINITY``) the libraries under PyTorch would
misread. Only the standard library here: this runs before PyTorch loads.
"""

import atexit
import importlib.util
import os
import re
import shlex
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the clone (or site-packages)
INTERRUPTED = 130  # 128 + SIGINT, as cli.run returns after Ctrl-C
INSTALLED_NAMES = {  # the commands in the clone's root, and their names when installed (pyproject.toml's scripts)
    "train.py": "lstm-mnist-train",
    "evaluate.py": "lstm-mnist-evaluate",
    "predict.py": "lstm-mnist-predict",
    "inspect_digit.py": "lstm-mnist-inspect",
}
SCRIPTS = ("bench_table.py", "forget_bias_sweep.py", "make_results.py", "make_shipped_checkpoint.py",
           "rnn_vs_lstm.py", "web_screenshot.py")  # in its scripts/ (tests/test_startup.py checks the list)


class QuitAtOnce:
    """A SIGINT handler: "NAME: interrupted" on stderr, and exit 130 at once (nothing is raised,
    so nothing unwinds through the import under way)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, signum, frame):
        for stream in (sys.stdout, sys.stderr):  # what was printed before stays printed
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError, RuntimeError):  # none, closed, a reader gone, mid-write
                pass
        try:
            sys.stderr.write(f"{self.name}: interrupted\n")
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError, RuntimeError):
            pass
        os._exit(INTERRUPTED)

    def at_exit(self) -> None:
        """The last exit handler: Python then resets its signal handlers, but leaves an ignored
        signal ignored, through a teardown that takes PyTorch half a second."""
        if signal.getsignal(signal.SIGINT) is self:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def guard() -> None:
    """From now on, Ctrl-C ends the program at once with one line, if the package is being imported
    by one of the project's programs, in the main thread, with Python's own Ctrl-C handler in place
    (a SIGINT ignored by the shell is left alone), and not under a debugger or ``python -i``, where
    Ctrl-C must stay theirs (pdb's prompt, the interactive one)."""
    name = this_program()
    if name is None or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    if sys.flags.inspect or sys.gettrace() is not None or "bdb" in sys.modules:  # python -i, pdb, a debugger
        return
    handler = QuitAtOnce(name)
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        return
    atexit.register(handler.at_exit)  # registered first, so called last


REQUIRED = {"torch": "torch", "numpy": "numpy", "tqdm": "tqdm", "PIL": "pillow"}  # module: package (pip's name)


def check_environment() -> None:
    """If one of the project's programs is starting (``this_program``), end it with one line and status 1
    where PyTorch could not load or would misread its environment: the current folder, the packages, the
    thread variables (each check below). Anything else that imports the package is left to do as it likes."""
    name = this_program()
    if name is not None:
        check_current_folder(name)
        check_requirements(name)
        check_thread_variables(name)


def check_requirements(name: str) -> None:
    """End the program ``name`` with one line and status 1 if a package it cannot start without
    is missing from this Python (``python3 train.py`` with the project's virtual environment not
    activated, an install with --no-deps): 'ModuleNotFoundError: No module named 'torch'' and a
    traceback before. Looked up, not imported (``find_spec``). matplotlib and torchvision are
    needed only for figures and the download, which say so themselves."""
    missing = [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    requirements = os.path.join(ROOT, "requirements.txt")  # in a clone; an installed package has none
    here = os.path.realpath(os.getcwd()) == ROOT
    install = (f"pip install -r {'requirements.txt' if here else shlex.quote(requirements)}"
               if os.path.isfile(requirements) else f"pip install {' '.join(missing)}")
    fail(name, f"{listed} {'is' if len(missing) == 1 else 'are'} not installed for this Python ({sys.executable}); "
         f"activate the virtual environment you installed the project's requirements in, or install them: {install}")


def check_current_folder(name: str) -> None:
    """End the program ``name`` with one line and status 1 if its current folder no longer
    exists (deleted, or its disk unmounted, while a shell stood in it): PyTorch's import there ends the
    process in "Intel oneMKL FATAL ERROR: Cannot load libtorch_cpu.so" (status 2, a usage error's), and
    every relative name (the default checkpoint.pt, ./data) would fail later."""
    try:
        os.getcwd()
    except FileNotFoundError:
        fail(name, "the current folder no longer exists (it was deleted or moved away while this shell stood in "
                   "it); cd to a folder that exists and run it again")


THREADS = r"0*[1-9][0-9]*"  # a whole number from 1, in ASCII digits
CPUS = r"[0-9]+(-[0-9]+(:[0-9]+)?)?"  # a CPU, or a range with an optional stride
THREAD_VARIABLES = {  # what the thread libraries PyTorch loads read as meant (re.fullmatch), and that, in words
    "OMP_NUM_THREADS": (rf"\s*{THREADS}\s*(,\s*{THREADS}\s*)*",
                        "a whole number of threads from 1 (or a comma-separated list of them)"),
    "MKL_NUM_THREADS": (rf"({THREADS})?", "a whole number of threads from 1, written with the digits 0-9 alone"),
    "GOMP_CPU_AFFINITY": (rf"[\s,]*({CPUS}[\s,]+)*({CPUS})?\s*", "CPU numbers and ranges (0 2-5 8-15:2)"),
}


def check_thread_variables(name: str) -> None:
    """End the program ``name`` with one line and status 1 (as the other checks) if a
    variable of the thread libraries is set to what they misread, before PyTorch loads them: libgomp prints its
    own 'Invalid value for environment variable OMP_NUM_THREADS' for OMP_NUM_THREADS=abc, 0 or empty;
    MKL_NUM_THREADS=' 2' or abc leaves PyTorch one thread, unsaid; GOMP_CPU_AFFINITY with a letter in it hangs
    PyTorch's import for ever. What they read as meant (an empty MKL_NUM_THREADS is unset) passes."""
    for variable, (pattern, valid) in THREAD_VARIABLES.items():
        text = os.environ.get(variable)
        if text is not None and not re.fullmatch(pattern, text, re.ASCII):
            fail(name, f"{variable}={text!r} in the environment cannot be read as {valid}; set it so, or unset "
                       f"{variable}")


def fail(name: str, message: str) -> None:
    """End the program ``name`` before PyTorch loads: "NAME: error: MESSAGE" on stderr (if there is one to
    write to), exit status 1."""
    try:
        sys.stderr.write(f"{name}: error: {message}\n")
    except (AttributeError, OSError, ValueError):  # no stderr, or a closed one
        pass
    sys.exit(1)


def this_program() -> str | None:
    """``guarded_name`` of the running program: the name its errors are reported under, or None when
    the package is imported by anything else."""
    return guarded_name(sys.argv[0] if getattr(sys, "argv", None) else "", getattr(sys, "orig_argv", []))


def guarded_name(argv0: str, orig_argv: list[str]) -> str | None:
    """The name a program of this project reports its errors under, from ``sys.argv[0]`` and
    ``sys.orig_argv``; None if the package is imported by anything else."""
    base = os.path.basename(argv0)
    if base.startswith("lstm-mnist-"):  # an installed command
        return base
    if argv0 == "-m":  # python -m lstm_mnist.X, while Python imports the package to find X
        module = module_run(orig_argv)
        return f"python -m {module}" if module and module.startswith("lstm_mnist.") else None
    folder = os.path.dirname(os.path.realpath(argv0)) if argv0.endswith(".py") else None
    if folder == ROOT and base in INSTALLED_NAMES:  # a file of another name there (your own) is left alone
        return base
    if folder == os.path.join(ROOT, "scripts") and base in SCRIPTS:
        return f"scripts/{base}"
    return None


def module_run(orig_argv: list[str]) -> str | None:
    """MODULE of a command line ``python [options] -m MODULE [args]``, or None."""
    args = iter(orig_argv[1:])
    for arg in args:
        if arg in ("-X", "-W", "--check-hash-based-pycs"):  # the options that take the next word as their value
            next(args, None)
        elif arg.startswith(("-X", "-W", "--")) and arg != "--":  # -Xdev, -Wignore, --version: no module here
            continue
        elif not arg.startswith("-") or arg in ("-", "--"):  # a script (or stdin): no module
            return None
        else:  # one-letter options, perhaps run together: -m MODULE, -um MODULE, -mMODULE, -c CODE
            for i, letter in enumerate(arg[1:], start=1):
                if letter == "c":
                    return None
                if letter == "m":
                    return arg[i + 1 :] or next(args, None)
    return None
