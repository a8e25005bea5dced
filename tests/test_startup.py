"""Ctrl-C while a program starts (PyTorch takes a second or more to load) prints one line,
"NAME: interrupted", and exits with status 130, in every command and script, never a traceback.

To land the signal inside the import every time, whatever the machine's load, each program runs
with a ``sitecustomize`` that stops its first import of PyTorch (or numpy, Pillow, matplotlib)
and says so on stderr; the test sends SIGINT once it has read that line."""

import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from lstm_mnist import startup

BLOCKER = '''
import sys
import time


class StopAtFirstHeavyImport:
    """Says "importing NAME" on stderr at the first import of a large package, then waits for a signal."""

    def find_spec(self, name, path=None, target=None):
        if name in ("torch", "numpy", "PIL", "matplotlib"):
            sys.meta_path.remove(self)
            sys.stderr.write(f"importing {name}\\n")
            sys.stderr.flush()
            time.sleep(120)
        return None


sys.meta_path.insert(0, StopAtFirstHeavyImport())
'''

PROGRAMS = [  # (command line after python, the name its errors start with)
    (["train.py", "--help"], "train.py"),
    (["evaluate.py", "--help"], "evaluate.py"),
    (["predict.py", "--help"], "predict.py"),
    (["inspect_digit.py", "--help"], "inspect_digit.py"),
    (["-m", "lstm_mnist.web", "--help"], "python -m lstm_mnist.web"),
    (["-X", "utf8", "-m", "lstm_mnist.bench", "--help"], "python -m lstm_mnist.bench"),
    (["scripts/bench_table.py", "--help"], "scripts/bench_table.py"),
    (["scripts/rnn_vs_lstm.py", "--help"], "scripts/rnn_vs_lstm.py"),
    (["scripts/make_results.py", "--help"], "scripts/make_results.py"),
    (["scripts/forget_bias_sweep.py", "--help"], "scripts/forget_bias_sweep.py"),
    (["scripts/make_shipped_checkpoint.py", "--help"], "scripts/make_shipped_checkpoint.py"),
    (["scripts/web_screenshot.py", "--help"], "scripts/web_screenshot.py"),
]


def interrupt_while_importing(args: list[str], tmp_path) -> tuple[int, str, str]:
    """Run ``python ARGS`` in ``tmp_path``, send SIGINT once it is inside its first heavy import;
    return its exit status, the module it stopped in and what it wrote to stderr after that."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    command = [sys.executable, *(arg if arg.startswith("-") or not arg.endswith(".py") else str(ROOT / arg)
                                 for arg in args)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        first = process.stderr.readline()  # waits for the import, however long the start takes
        assert first.startswith("importing "), first + process.stderr.read()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, first.split()[1], rest


@pytest.mark.parametrize("args, name", PROGRAMS, ids=[" ".join(args) for args, _ in PROGRAMS])
def test_ctrl_c_while_pytorch_loads_is_one_line_and_status_130(tmp_path, args, name):
    """A user who presses Ctrl-C right after starting a program (it seems slow to start) sees one
    line and status 130, as for a Ctrl-C later on; never a traceback, never an abort."""
    status, module, stderr = interrupt_while_importing(args, tmp_path)
    assert "Traceback" not in stderr and status == 130, (module, stderr)
    assert stderr == f"{name}: interrupted\n", module


def test_an_installed_command_says_its_own_name(tmp_path):
    """``lstm-mnist-web`` as pip writes it (its first import is the package's): the same line, under its name."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "lstm-mnist-web").write_text("import sys\nfrom lstm_mnist.web import command\n"
                                                     "sys.exit(command())\n")
    status, _, stderr = interrupt_while_importing([str(tmp_path / "bin" / "lstm-mnist-web"), "--help"], tmp_path)
    assert status == 130 and stderr == "lstm-mnist-web: interrupted\n"


@pytest.mark.parametrize("argv0, orig_argv, name", [
    ("-m", ["python", "-m", "lstm_mnist.web", "site"], "python -m lstm_mnist.web"),
    ("-m", ["python", "-X", "importtime", "-W", "error", "-mlstm_mnist.bench"], "python -m lstm_mnist.bench"),
    ("-m", ["python", "-m", "mypackage.tool"], None),  # another package's module that imports ours
    (str(ROOT / "train.py"), ["python", "train.py"], "train.py"),
    (str(ROOT / "scripts" / "rnn_vs_lstm.py"), [], "scripts/rnn_vs_lstm.py"),
    ("/home/me/venv/bin/lstm-mnist-train", [], "lstm-mnist-train"),
    ("/home/me/analysis.py", [], None),  # your own program: Python's Ctrl-C, untouched
    (str(ROOT / "tests" / "conftest.py"), [], None),
    ("/usr/bin/pytest", [], None),
    ("", ["python"], None),  # the interactive interpreter
    ("-c", ["python", "-c", "import lstm_mnist"], None),
    ("-m", ["python", "-um", "lstm_mnist.bench"], "python -m lstm_mnist.bench"),  # options run together
    ("-m", ["python", "--check-hash-based-pycs", "always", "-m", "lstm_mnist.web"], "python -m lstm_mnist.web"),
    (str(ROOT / "my_experiment.py"), [], None),  # your own program in the clone: its try/finally must run
    (str(ROOT / "scripts" / "mine.py"), [], None),
    (str(ROOT.parent / "ipykernel_launcher.py"), [], None),  # beside the package, as in site-packages
])
def test_only_the_projects_programs_are_guarded(argv0, orig_argv, name):
    """In a notebook, an interactive session or your own program, Ctrl-C stays Python's."""
    assert startup.guarded_name(argv0, orig_argv) == name


def test_cli_run_hands_ctrl_c_to_the_work_and_takes_it_back_after(capsys):
    """Within ``main`` Ctrl-C is a KeyboardInterrupt (train.py saves its checkpoint on it); the
    guard is back once ``main`` returns."""
    from lstm_mnist import cli

    guard = startup.QuitAtOnce("x")
    previous = signal.signal(signal.SIGINT, guard)
    try:
        seen = []
        assert cli.run(lambda: seen.append(signal.getsignal(signal.SIGINT)), "x") == 0
        assert seen == [signal.default_int_handler] and signal.getsignal(signal.SIGINT) is guard

        def ctrl_c():
            raise KeyboardInterrupt

        assert cli.run(ctrl_c, "x") == 130 and capsys.readouterr().err == "x: interrupted\n"
        assert signal.getsignal(signal.SIGINT) is guard
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_guarded_scripts_are_the_scripts_that_use_cli_run():
    """startup.SCRIPTS names exactly the scripts/ programs (each reports its errors through cli.run)."""
    using = sorted(p.name for p in (ROOT / "scripts").glob("*.py") if "run(main" in p.read_text())
    assert sorted(startup.SCRIPTS) == using


@pytest.mark.parametrize("how", ["pdb", "python -i"])
def test_a_debugger_or_an_interactive_session_keeps_its_own_ctrl_c(how):
    """Under pdb (its prompt takes Ctrl-C as --KeyboardInterrupt--) or python -i (its >>> prompt),
    the guard is not installed: Ctrl-C stays theirs, even in train.py."""
    code = (f"import signal, sys; sys.argv = [{str(ROOT / 'train.py')!r}]; "
            "import lstm_mnist; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    options, prefix = ([], "import pdb; ") if how == "pdb" else (["-i"], "")  # -i: the prompt reads EOF and ends

    def run(options, code):
        return subprocess.run([sys.executable, *options, "-c", code], capture_output=True, text=True, cwd=ROOT,
                              stdin=subprocess.DEVNULL).stdout.strip()

    assert run(options, prefix + code) == "True"
    assert run([], code) == "False"  # the same program, not under either: guarded
