"""TensorBoard logging (optional dependency), class names for other IDX data sets, the progress bar."""

import json
import sys

import pytest

from conftest import run_on_terminal, run_script
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
    result = run_on_terminal("train.py", "--device", "cpu", "--hidden-size", "8", "--epochs", "1",
                                    "--limit-train", "40", "--batch-size", "8", "--no-figure", "--data-dir",
                                    str(synthetic_dir), "--out", str(tmp_path / "run.pt"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"epoch 1/1: 100%" in result.stderr and b"5/5 [" in result.stderr and b"batch/s" in result.stderr
