"""The environment the programs run in: the locale and the output's encoding, the current folder,
the variables a user, a CI runner or a container may have set. Each test names what a user saw
before its fix."""

import ast
import io
import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_script
from lstm_mnist import cli


def test_an_ascii_output_that_escapes_surrogates_shows_other_characters_escaped():
    """LC_ALL=C with Python's UTF-8 mode off (PYTHONUTF8=0), or PYTHONIOENCODING=ascii:surrogateescape:
    stdout is ASCII with 'surrogateescape', not 'strict', and a name with an 'é' (as ``shown`` gives it)
    ended inspect_digit.py, predict.py and evaluate.py in a UnicodeEncodeError traceback."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="surrogateescape")
    real = sys.stdout
    sys.stdout = out
    try:
        status = cli.run(lambda: print("sieben-\u00e9.png"), "x")
        out.flush()
    finally:
        sys.stdout = real
    assert status == 0
    assert out.buffer.getvalue() == b"sieben-\\xe9.png\n"


def test_a_c_locale_without_utf8_mode_prints_non_ascii_names_escaped(tmp_path):
    """The same, end to end: inspect_digit.py reading an image whose name is not ASCII."""
    image = tmp_path / "sieben-\u00e9.png"
    image.write_bytes((ROOT / "docs" / "digits" / "test-7.png").read_bytes())
    result = run_script("inspect_digit.py", str(ROOT / "docs" / "model" / "lstm-mnist.pt"), "--image", str(image),
                        "--no-figure", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii:surrogateescape"})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "sieben-\\xe9.png" in result.stdout.splitlines()[0]


def test_a_command_to_paste_names_a_non_ascii_file_by_its_bytes_where_the_output_is_ascii(monkeypatch):
    """train.py's 'evaluate with: python evaluate.py 'mod\\xe8le.pt'' under LC_ALL=C (or PYTHONIOENCODING=
    ascii): the 'è' the output cannot show came out as \\xe8 inside single quotes, a name that does not
    exist. Where the output cannot show the name, the word is bash's $'...' of its bytes."""
    from lstm_mnist.files import shell_word

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert shell_word("mod\u00e8le 1.pt") == "$'mod\\xc3\\xa8le 1.pt'"
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert shell_word("mod\u00e8le 1.pt") == "'mod\u00e8le 1.pt'"


@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "predict.py", "inspect_digit.py",
                                    "scripts/make_results.py"])
def test_a_current_folder_that_was_deleted_is_one_line(tmp_path, script):
    """A shell standing in a folder that was then deleted (a cleaned-up CI workspace, a student's rm -r
    from another window): 'Intel oneMKL FATAL ERROR: Cannot load .../libtorch_cpu.so.' and exit
    status 2, from PyTorch's import, before any of the program's code could say what was wrong."""
    gone = tmp_path / "gone"
    gone.mkdir()
    command = f"cd {gone} && rmdir {gone} && exec {sys.executable} {ROOT / script} --help"
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr == (f"{script}: error: the current folder no longer exists (it was deleted or moved away "
                             "while this shell stood in it); cd to a folder that exists and run it again\n")


def test_training_into_a_reader_that_stopped_early_ends_quietly_as_the_other_programs(tmp_path, synthetic_dir):
    """``python train.py | head -1``: the other programs end quietly (status 141, as a shell shows a
    program stopped by a closed pipe); train.py took the BrokenPipeError for a failed write of its files,
    'train.py: error: Broken pipe' and status 1."""
    out = tmp_path / "run.pt"
    command = (f"{sys.executable} {ROOT / 'train.py'} --device cpu --data-dir {synthetic_dir} --hidden-size 8 "
               f"--limit-train 64 --epochs 2 --validation-size 100 --no-figure --out {out} | head -1 >/dev/null; "
               "exit ${PIPESTATUS[0]}")
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == cli.BROKEN_PIPE and result.stderr == "", result.stderr


@pytest.mark.parametrize("mask", [0o777, 0o277])
def test_a_umask_that_closes_the_owners_own_files_is_refused_before_any_work(tmp_path, run_in_process, capsys,
                                                                              mask):
    """umask 777 (a typo for 077, or a CI step's leftover): train.py wrote checkpoints of mode 000 that
    evaluate.py could not open, evaluate.py --plots made a folder it could not enter and failed after the
    whole evaluation, and matplotlib's cache folders ended the programs in two tracebacks at exit."""
    from lstm_mnist import web

    model, digits = ROOT / "docs" / "model" / "lstm-mnist.pt", ROOT / "docs" / "digits"
    cases = [("train.py", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run.pt")),
             ("predict.py", str(model), str(digits), "--out", str(tmp_path / "p.csv")),
             ("inspect_digit.py", str(model), "--image", str(digits / "test-7.png"), "--figure",
              str(tmp_path / "t.png")),
             ("evaluate.py", str(model), "--data-dir", str(tmp_path), "--plots", str(tmp_path / "plots"))]
    site = [str(model), "--digits", str(digits), "--samples", "0", "--out", str(tmp_path / "site")]
    previous = os.umask(mask)
    try:
        results = [run_in_process(*case, cwd=tmp_path) for case in cases]
        capsys.readouterr()
        results.append((cli.run(lambda: web.main(site), "python -m lstm_mnist.web"), capsys.readouterr().err))
    finally:
        os.umask(previous)
    line = (f"error: the umask is {mask:04o}: the files and folders this command writes would be closed to you, "
            "their owner; set one that leaves them yours first (umask 022, or umask 077 to keep them private to you)\n")
    for name, result in zip([case[0] for case in cases], results):
        assert (result.returncode, result.stderr) == (1, f"{name}: {line}")
    assert results[-1] == (1, f"python -m lstm_mnist.web: {line}")
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("script", ["train.py", "predict.py", "scripts/make_results.py"])
def test_a_python_without_the_requirements_says_so_in_one_line(tmp_path, script):
    """``python3 train.py`` with the project's virtual environment not activated (the commonest first
    mistake in a classroom): 'ModuleNotFoundError: No module named 'torch'' and a traceback. ``python -S``
    (no site-packages) is such a Python."""
    result = subprocess.run([sys.executable, "-S", str(ROOT / script), "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr == (f"{script}: error: torch, numpy, tqdm and pillow are not installed for this Python "
                             f"({sys.executable}); activate the virtual environment you installed the project's "
                             f"requirements in, or install them: pip install -r {ROOT / 'requirements.txt'}\n")


@pytest.mark.parametrize("variables, message", [
    ({"WORLD_SIZE": "abc"}, "WORLD_SIZE=abc in the environment is not a number of processes; unset WORLD_SIZE to "
                            "train in one process (torchrun sets it for each of several)"),
    ({"WORLD_SIZE": "\u00b2"}, "WORLD_SIZE=\u00b2 in the environment is not a number of processes; unset WORLD_SIZE "
                              "to train in one process (torchrun sets it for each of several)"),  # a digit, not decimal
    ({"WORLD_SIZE": ""}, "WORLD_SIZE= in the environment is not a number of processes; unset WORLD_SIZE to train "
                         "in one process (torchrun sets it for each of several)"),
    ({"WORLD_SIZE": "2", "RANK": "0"}, "WORLD_SIZE=2 is set in the environment, but not MASTER_ADDR, MASTER_PORT, "
                                       "which torchrun sets beside it: start 2 processes with torchrun "
                                       "--nproc_per_node=2 (see --help), or unset WORLD_SIZE to train in one"),
])
def test_a_world_size_that_torchrun_did_not_set_is_one_line(tmp_path, synthetic_dir, run_in_process, monkeypatch,
                                                             variables, message):
    """WORLD_SIZE left in a shell (export WORLD_SIZE=2 from an earlier torchrun lesson, or empty): train.py
    ended in 'ValueError: invalid literal for int()' or PyTorch's 'environment variable RANK expected, but
    not set', each a traceback."""
    for name in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = run_in_process("train.py", "--device", "cpu", "--data-dir", str(synthetic_dir), "--out",
                            str(tmp_path / "run.pt"), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, f"train.py: error: {message}\n")
    assert os.listdir(tmp_path) == []


def test_world_size_1_is_one_process(tmp_path, synthetic_dir, run_in_process, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    result = run_in_process("train.py", "--device", "cpu", "--data-dir", str(synthetic_dir), "--hidden-size", "8",
                            "--limit-train", "64", "--epochs", "1", "--validation-size", "100", "--no-figure",
                            "--out", str(tmp_path / "run.pt"), cwd=tmp_path)
    assert result.returncode == 0 and "(torchrun)" not in result.stdout, result.stderr


def test_a_tilde_no_shell_expanded_in_mnist_dir_names_the_folder_meant(tmp_path, saved_home, run_in_process,
                                                                       monkeypatch):
    """MNIST_DIR="~/mnist" (quoted, or set in a CI file or a Dockerfile, where no shell expands it): 'data
    folder ~/mnist (MNIST_DIR) does not exist', with the folder right there in the user's home."""
    monkeypatch.setenv("MNIST_DIR", "~/mnist")
    result = run_in_process("evaluate.py", str(ROOT / "docs" / "model" / "lstm-mnist.pt"), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, (
        "evaluate.py: error: data folder ~/mnist (MNIST_DIR) does not exist (a '~' there is taken as it is: only the "
        "shell expands it, at the start of a word, not after '=' nor inside quotes; the path meant is "
        f"{saved_home / 'mnist'})\n"))


@pytest.fixture
def saved_home(tmp_path, monkeypatch):
    """A HOME holding a folder mnist/."""
    home = tmp_path / "home"
    (home / "mnist").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize("variable, value, valid", [
    ("OMP_NUM_THREADS", "abc", "a whole number of threads from 1 (or a comma-separated list of them)"),
    ("OMP_NUM_THREADS", "0", "a whole number of threads from 1 (or a comma-separated list of them)"),
    ("OMP_NUM_THREADS", "", "a whole number of threads from 1 (or a comma-separated list of them)"),
    ("MKL_NUM_THREADS", " 2", "a whole number of threads from 1, written with the digits 0-9 alone"),
    ("GOMP_CPU_AFFINITY", "abc", "CPU numbers and ranges (0 2-5 8-15:2)"),
])
def test_a_thread_variable_the_libraries_misread_is_one_line_before_pytorch_loads(variable, value, valid):
    """OMP_NUM_THREADS=abc (or 0, or empty): libgomp's own 'Invalid value for environment variable
    OMP_NUM_THREADS' in the middle of the output; MKL_NUM_THREADS=' 2' or abc: silently one thread
    (torch.get_num_threads() 1); GOMP_CPU_AFFINITY=abc: PyTorch's import hung for ever in libgomp.
    Each is one line naming the variable and what it takes, exit 1, as the other variables' checks."""
    result = run_script("train.py", "--help", env={variable: value}, timeout=120)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr == (f"train.py: error: {variable}={value!r} in the environment cannot be read as {valid}; "
                             f"set it so, or unset {variable}\n")


def test_thread_variables_the_libraries_read_as_meant_are_left_alone():
    env = {"OMP_NUM_THREADS": " 2,1", "MKL_NUM_THREADS": "", "GOMP_CPU_AFFINITY": "0-1"}
    result = run_script("train.py", "--help", env=env, timeout=120)
    assert result.returncode == 0 and result.stderr == "" and "usage:" in result.stdout, result.stderr


def test_the_parallel_tests_leave_a_thread_count_set_in_the_environment_alone(monkeypatch):
    """The same OMP_NUM_THREADS=' 2,1' stopped every parallel test process at tests/conftest.py's int(): the
    suite ran no test. PyTorch has read a count set there on import, and the programs the tests start read it."""
    import torch

    from conftest import share_the_cores_between_workers

    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", " 2,1")
    threads = torch.get_num_threads()
    try:
        share_the_cores_between_workers()
        assert torch.get_num_threads() == threads and os.environ["OMP_NUM_THREADS"] == " 2,1"
    finally:
        torch.set_num_threads(threads)


def write_to_full_disk(*args: str) -> subprocess.CompletedProcess:
    """A program run with its stdout on /dev/full (every write fails: No space left on device), buffered as
    it is where nothing sets PYTHONUNBUFFERED."""
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "PYTHONUNBUFFERED")}
    command = [sys.executable, *(args if args[0] == "-m" else (str(ROOT / args[0]), *args[1:]))]
    with open("/dev/full", "w") as full:
        return subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, env=env, cwd=ROOT)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("program", [["train.py"], ["evaluate.py"], ["scripts/make_results.py"], ["-m", "lstm_mnist.web"]])
def test_help_that_cannot_be_written_is_a_failure_in_one_line(program):
    """--help > /dev/full (or onto a full disk) exited 0 with no help written: argparse ignores a failed
    write, and Python's flush at exit then failed in 'Exception ignored ... OSError' (status 120)."""
    result = write_to_full_disk(*program, "--help")
    name = f"python {' '.join(program)}" if program[0] == "-m" else program[0]
    assert (result.returncode, result.stderr) == (1, f"{name}: error: No space left on device\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_a_failure_in_one_line():
    """predict.py's CSV on stdout (--out -), a few lines still buffered when the program ended: Python's
    flush at exit failed in 'Exception ignored in: <_io.TextIOWrapper name='<stdout>' ...>' and status 120."""
    result = write_to_full_disk("predict.py", "docs/model/lstm-mnist.pt", "docs/digits/test-0.png", "--out", "-",
                                "--device", "cpu")
    assert result.returncode == 1 and result.stderr.endswith("predict.py: error: No space left on device\n")
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("program", [["train.py"], ["evaluate.py"], ["predict.py"], ["inspect_digit.py"],
                                     ["-m", "lstm_mnist.web"], ["-m", "lstm_mnist.bench"], ["scripts/rnn_vs_lstm.py"]])
def test_python_oo_keeps_the_help_and_runs(program):
    """``python -OO`` (docstrings stripped, as some launchers and container images set PYTHONOPTIMIZE=2):
    each command's description is its module's docstring, and ``__doc__.replace`` on None ended every run of
    the four commands and the web page in an AttributeError traceback; the scripts' --help lost its text."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    command = [sys.executable, "-OO", *(program if program[0] == "-m" else [str(ROOT / program[0])]), "--help"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    source = ROOT / (program[1].replace(".", "/") + ".py" if program[0] == "-m"
                     else program[0] if "/" in program[0] else f"lstm_mnist/commands/{program[0]}")
    first_line = ast.get_docstring(ast.parse(source.read_text())).splitlines()[0]
    usage, description = result.stdout.split("\n\n")[:2]
    assert usage.startswith("usage: ") and description.startswith(first_line[:30])
