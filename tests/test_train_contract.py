"""train.py keeps its contract around the training loop too: the files beside a checkpoint are
protected like it, one run at a time writes a checkpoint, a stop anywhere in the run is one
line and exit 130 and --resume finishes what was left, a missing compiler or a lost worker is
one line. (The loop's own Ctrl-C, kills and resume are in test_reliability.py.)"""

import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, interrupt_the_test_pass
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import distributed, training
from lstm_mnist.files import exclusive

TINY = ["--device", "cpu", "--hidden-size", "8", "--batch-size", "16", "--limit-train", "48", "--epochs", "1",
        "--validation-size", "100", "--no-figure"]


def one_line(result, status: int) -> str:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("beside", [".metrics.jsonl", ".training.png"])
def test_files_beside_the_checkpoint_are_not_replaced_unasked(run_in_process, synthetic_dir, tmp_path, beside):
    (tmp_path / f"a{beside}").write_text("another run's")
    error = one_line(run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "a.pt")),
                     status=2)
    assert f"a{beside} exists beside it" in error and "--overwrite" in error
    assert (tmp_path / f"a{beside}").read_text() == "another run's" and not (tmp_path / "a.pt").exists()


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(run_in_process, synthetic_dir, tmp_path):
    out = tmp_path / "same.pt"
    with exclusive(out):  # as a live run holds it
        error = one_line(run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out),
                                        "--overwrite"), status=1)
        assert "another run (process" in error and "is writing it right now" in error
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing written, the lock file gone
    assert run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.metrics.jsonl", "same.pt"]


def test_a_stop_during_the_test_evaluation_is_finished_by_resume(run_in_process, synthetic_dir, tmp_path,
                                                                  monkeypatch):
    out = tmp_path / "run.pt"
    real_evaluate = interrupt_the_test_pass(monkeypatch)
    error = one_line(run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out)), 130)
    assert f"resume with: python train.py --resume {out}" in error
    assert not ckpt.finished(ckpt.load(out)) and ckpt.load(out)["progress"]["epoch"] == 1

    monkeypatch.setattr(training, "evaluate", real_evaluate)
    resumed = run_in_process("train.py", "--resume", str(out), "--data-dir", str(synthetic_dir), "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert "the test evaluation is left" in resumed.stdout and "test accuracy:" in resumed.stdout
    assert ckpt.finished(ckpt.load(out))
    again = run_in_process("train.py", "--resume", str(out), "--data-dir", str(synthetic_dir), "--device", "cpu")
    assert again.returncode == 0 and "already trained the 1 epoch asked for;" in again.stdout


def test_sigterm_while_the_data_loads_is_one_line_and_exit_130(synthetic_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *TINY, "--epochs", "50", "--data-dir",
                                str(synthetic_dir), "--out", str(tmp_path / "run.pt")], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("training:"):  # printed just before the data is read
            break
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]  # after "SIGTERM: stopping ..." when it landed in training
    assert last.startswith("train.py: ") and ("stopped before training started" in last or "resume with" in last)


def test_compile_without_a_compiler_is_one_line(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    error = one_line(run_in_process("train.py", *TINY, "--compile", "--data-dir", str(synthetic_dir),
                                    "--out", str(tmp_path / "c.pt")), status=1)
    assert "--compile needs a C++ compiler" in error and "without --compile" in error
    assert not list(tmp_path.iterdir())


def test_a_lost_worker_is_one_line_with_the_way_to_resume(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    def broken_process_group(*args, **kwargs):
        raise RuntimeError("[gloo/transport/tcp/pair.cc:534] Connection closed by peer [127.0.0.1]:4242")

    monkeypatch.setattr("lstm_mnist.commands.train.train", broken_process_group)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)  # as under torchrun, seen from rank 0
    error = one_line(run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir),
                                    "--out", str(tmp_path / "d.pt")), status=1)
    assert "a worker process was lost (" in error and "Connection closed by peer" in error
    assert f"--resume {tmp_path / 'd.pt'}" in error


def test_a_stop_before_the_first_save_does_not_offer_to_resume_an_older_file(run_in_process, synthetic_dir,
                                                                              tmp_path, monkeypatch):
    out = tmp_path / "old.pt"
    out.write_bytes(b"another run's checkpoint")
    old = out.stat().st_mtime - 60
    os.utime(out, (old, old))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lstm_mnist.commands.train.load_mnist", ctrl_c)
    error = one_line(run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out),
                                    "--overwrite"), status=130)
    assert error == "train.py: interrupted"  # no "resume with": the file is not this run's
    assert out.read_bytes() == b"another run's checkpoint"
