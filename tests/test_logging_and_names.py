"""TensorBoard logging (optional dependency), class names for other IDX data sets, the progress bar."""

import json
import os
import select
import subprocess
import sys

import pytest

from conftest import ROOT, run_script
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.reporting import open_tensorboard

FASHION = "T-shirt,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"


def test_tensorboard_events_and_class_names_end_to_end(synthetic_dir, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install tensorboard)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run.pt"
    result = run_script("train.py", "--device", "cpu", "--hidden-size", "8", "--epochs", "2", "--limit-train", "40",
                        "--data-dir", str(synthetic_dir), "--out", str(out), "--class-names", FASHION,
                        "--tensorboard", str(tmp_path / "tb"), "--log-every", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "val/accuracy", "train/running_loss", "train/learning_rate", "test/accuracy"} <= tags
    assert [e.step for e in events.Scalars("val/accuracy")] == [1, 2]

    report = run_script("evaluate.py", str(out), "--device", "cpu", "--data-dir", str(synthetic_dir), cwd=tmp_path)
    assert report.returncode == 0 and "9 Ankle boot:" in report.stdout and "1 Trouser" in report.stdout
    as_json = json.loads(run_script("evaluate.py", str(out), "--json", "--device", "cpu",
                                    "--data-dir", str(synthetic_dir), cwd=tmp_path).stdout)
    assert as_json["class_names"] == FASHION.split(",")


def test_missing_tensorboard_is_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails as if not installed
    with pytest.raises(LSTMMnistError, match="pip install tensorboard"):
        open_tensorboard(tmp_path)


def test_class_names_must_be_ten(run_in_process, tmp_path):
    result = run_in_process("train.py", "--class-names", "a,b,c", cwd=tmp_path)
    assert result.returncode == 2 and "expected 10 non-empty comma-separated names, got 3" in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as Linux makes them")
def test_the_progress_bar_shows_on_a_terminal_that_reports_no_size(synthetic_dir, tmp_path):
    """A pseudo-terminal nobody sized (``script``, ``docker exec -t``) reports 0 columns; tqdm printed
    every line of the bar empty there, so a user saw no progress at all. The bar now has 80 columns."""
    master, terminal = os.openpty()  # a new pseudo-terminal is 0 x 0 until someone sets its size
    assert os.get_terminal_size(terminal).columns == 0
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), "--device", "cpu", "--hidden-size", "8",
                                "--epochs", "1", "--limit-train", "40", "--batch-size", "8", "--no-figure",
                                "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run.pt")],
                               stdout=subprocess.DEVNULL, stderr=terminal, cwd=tmp_path, env=env)
    os.close(terminal)
    shown = b""
    while True:  # read as it comes, so that a full terminal buffer never blocks the program
        if select.select([master], [], [], 120)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program has closed its end
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.wait(timeout=120) == 0
    assert b"epoch 1/1: 100%" in shown and b"5/5 [" in shown and b"batch/s" in shown
