"""Shared fixtures: IDX files written by the tests, and the real MNIST when MNIST_DIR is set."""

import gzip
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def share_the_cores_between_workers() -> None:
    """pytest.ini runs the tests in parallel processes (pytest-xdist). Each, and each program a test
    starts, gets its share of the cores: two workers with PyTorch's default (every core each) on 2
    cores made the training tests 3 times slower, each waiting on the other's threads. A count set in the
    environment is left as it is: PyTorch read it on import, and it may be a list (OMP_NUM_THREADS=4,2)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // workers)  # the cores this process may use (taskset, a container's cpuset)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the programs the tests start read it
        torch.set_num_threads(threads)


def give_the_programs_pythons_ctrl_c() -> None:
    """Tests send Ctrl-C (SIGINT) to the programs they start and expect what a user sees. A program
    inherits an ignored SIGINT (the suite started in the background by a shell script: the programs
    then never saw the Ctrl-C, and the tests waited minutes for them), but not a Python handler."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


share_the_cores_between_workers()
give_the_programs_pythons_ctrl_c()

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool) -> Path:
    data = idx_bytes(array)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data, compresslevel=1))
    else:
        path.write_bytes(data)
    return path


def synthetic_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images a row-reading model can learn: digit k is a bright bar on rows 2k+4 and 2k+5,
    over faint noise. Returns (images (n, 28, 28) uint8, labels (n,) uint8)."""
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for k in range(10):
        rows = images[labels == k]
        rows[:, 2 * k + 4 : 2 * k + 6, 4:24] = 255
        images[labels == k] = rows
    return images, labels


def write_mnist(directory: Path, n_train: int = 5200, n_test: int = 300, compress: bool = True,
                layout: str = "flat", seed: int = 0) -> Path:
    """Four IDX files of synthetic digits, in torchvision's ``MNIST/raw`` layout or flat."""
    rng = np.random.default_rng(seed)
    folder = directory / "MNIST" / "raw" if layout == "torchvision" else directory
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = synthetic_digits(n_train, rng)
    test_images, test_labels = synthetic_digits(n_test, rng)
    write_idx(folder / NAMES["train_images"], train_images, compress)
    write_idx(folder / NAMES["train_labels"], train_labels, compress)
    write_idx(folder / NAMES["test_images"], test_images, compress)
    write_idx(folder / NAMES["test_labels"], test_labels, compress)
    return directory


@pytest.fixture
def float64():
    """Compute in float64 for the duration of a test (for comparisons at 1e-12)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """A flat folder of gzip-compressed synthetic MNIST: 5,400 training (5,000 of them
    validation) and 300 test images."""
    return write_mnist(tmp_path_factory.mktemp("synthetic"), n_train=5400)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST files, from MNIST_DIR; the test is skipped without them."""
    value = os.environ.get("MNIST_DIR")
    if not value:
        pytest.skip("real MNIST not available: set MNIST_DIR to a folder with the four IDX files")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"real MNIST not available: MNIST_DIR={value} is not a folder")
    return path


def script_command(args: tuple[str, ...]) -> list[str]:
    """``python ROOT/train.py ...`` (any script of the repository), or ``python -m module ...``."""
    return [sys.executable, args[0] if args[0] == "-m" else str(ROOT / args[0]), *args[1:]]


def script_environment(env: dict | None = None) -> dict:
    """This environment without MNIST_DIR, with ``env`` and the repository on PYTHONPATH."""
    full_env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    full_env.update(env or {})
    # the repository first, then whatever the caller had there (packages brought along as a folder, say)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    return full_env


def run_script(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run ``python train.py ...`` (or any script, or ``-m module``) like a user would."""
    return subprocess.run(script_command(args), cwd=cwd or ROOT, env=script_environment(env), capture_output=True,
                          text=True, timeout=timeout)


def run_on_terminal(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a script (or ``-m module``) as ``run_script`` does, but with its stderr on a new
    pseudo-terminal (0 x 0, as nobody sized it: what ``script`` or ``docker exec -t`` give). The
    result's ``stderr`` is what the terminal received, as bytes; ``stdout`` the text printed."""
    master, terminal = os.openpty()
    command = script_command(args)
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=terminal, cwd=cwd, env=script_environment())
        os.close(terminal)
        shown = b""
        while select.select([master], [], [], timeout)[0]:  # read as it comes: a full terminal would block it
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program has closed its end
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        status = process.wait(timeout=timeout)
        stdout.seek(0)
        return subprocess.CompletedProcess(command, status, stdout.read().decode(), shown)


def interrupt_the_test_pass(monkeypatch):
    """Make training's test evaluation raise KeyboardInterrupt, as a Ctrl-C there would (the synthetic
    test split is the split of 300 images). Returns the real ``evaluate``, to put back."""
    from lstm_mnist import training

    real_evaluate = training.evaluate

    def ctrl_c_in_the_test(model, split, *args):
        if len(split) == 300:
            raise KeyboardInterrupt
        return real_evaluate(model, split, *args)

    monkeypatch.setattr(training, "evaluate", ctrl_c_in_the_test)
    return real_evaluate


COMMANDS = {  # script -> the module whose command() it runs
    "train.py": "lstm_mnist.commands.train",
    "evaluate.py": "lstm_mnist.commands.evaluate",
    "predict.py": "lstm_mnist.commands.predict",
    "inspect_digit.py": "lstm_mnist.commands.inspect_digit",
}


@pytest.fixture
def run_in_process(capsys, monkeypatch):
    """``run_in_process("train.py", *args)``: the command as ``run_script`` runs it (same exit
    status, stdout and stderr), in this process: for usage errors and --help, which need no
    fresh interpreter (each subprocess spends seconds importing torch)."""
    import importlib

    monkeypatch.delenv("MNIST_DIR", raising=False)
    sigterm = signal.getsignal(signal.SIGTERM)

    def run(script: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        command = importlib.import_module(COMMANDS[script]).command
        monkeypatch.setattr(sys, "argv", [script, *args])
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            status = command()
        except SystemExit as e:  # argparse: --help, usage errors
            status = e.code if isinstance(e.code, int) else int(e.code is not None)
        finally:
            signal.signal(signal.SIGTERM, sigterm)  # train.py turns SIGTERM into Ctrl-C for its run
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess([script, *args], status, out, err)

    return run


@pytest.fixture(scope="session")
def small_checkpoint(synthetic_dir, tmp_path_factory) -> Path:
    """A small LSTM (16 units) trained for two epochs on the synthetic digits: a checkpoint the
    figure and inspection commands can read."""
    from lstm_mnist import ModelConfig
    from lstm_mnist.data import load_mnist
    from lstm_mnist.training import TrainConfig, train

    out = tmp_path_factory.mktemp("small") / "small.pt"
    train(ModelConfig(hidden_size=16), TrainConfig(epochs=2, batch_size=16, lr=0.01), load_mnist(synthetic_dir), out)
    return out


@pytest.fixture
def saved(tmp_path):
    """A small checkpoint that can be resumed (1 epoch of 2 trained), and a folder of three digit images."""
    from PIL import Image

    from lstm_mnist import LSTMClassifier
    from lstm_mnist import checkpoint as ckpt
    from lstm_mnist.checkpoint import Progress
    from lstm_mnist.config import TrainConfig

    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 28, 28)).sum().backward()
    optimizer.step()
    path = tmp_path / "ck.pt"
    ckpt.save(path, ckpt.make(model, optimizer, TrainConfig(epochs=2), Progress(epoch=1),
                              [{"event": "epoch", "epoch": 1}], None))
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(synthetic_digits(3, np.random.default_rng(0))[0]):
        Image.fromarray(image).save(folder / f"{i}.png")
    return path, folder
