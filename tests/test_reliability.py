"""Nothing lost, nothing executed: kills at random moments, signals, exact resume across a
planned stop, divergence, full disks, and random bytes fed to the IDX reader."""

import gzip
import os
import random
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, idx_bytes, run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import data
from lstm_mnist import training
from lstm_mnist.cli import check_output_path
from lstm_mnist.errors import DataError
from lstm_mnist.training import Progress, RunOptions, TrainConfig, TrainingDiverged, fit

TINY = ["--device", "cpu", "--hidden-size", "16", "--batch-size", "8", "--limit-train", "64", "--seed", "5",
        "--validation-size", "200"]


def start(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONUNBUFFERED": "1",
                                                                       "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until training is about to start
        if line.startswith("parameters:"):
            break
    return process


def same_weights(a, b):
    return all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_sigkill_at_random_moments_never_corrupts_and_resume_stays_exact(synthetic_dir, tmp_path):
    args = [*TINY, "--epochs", "40", "--data-dir", str(synthetic_dir)]
    out = tmp_path / "run.pt"
    rng = random.Random(1234)
    kills = 0
    for _ in range(6):
        resume = ["--resume", str(out)] if out.exists() else []
        process = start([*args, "--out", str(out), *resume], tmp_path)
        time.sleep(rng.uniform(0.0, 1.2))
        if process.poll() is not None:
            break  # it finished before the kill
        process.kill()  # SIGKILL: no handler runs, no cleanup
        process.communicate(timeout=60)
        kills += 1
        if out.exists():
            model, stored = ckpt.load_model(out)  # raises if the file were damaged
            assert 0 <= stored["progress"]["epoch"] <= 40
    assert kills >= 3
    resume = ["--resume", str(out)] if out.exists() else []
    final = run_script("train.py", *args, "--out", str(out), *resume, cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind after the run"

    straight = tmp_path / "straight.pt"
    assert run_script("train.py", *args, "--out", str(straight), cwd=tmp_path).returncode == 0
    assert same_weights(ckpt.load(out), ckpt.load(straight))


def test_a_run_removes_what_a_killed_run_left_half_written_beside_its_checkpoint(synthetic_dir, tmp_path):
    """A kill can come while the checkpoint, the metrics or the figure is being written: each leaves
    its temporary, and the next run on that --out removes all three (and nothing else)."""
    out = tmp_path / "run.pt"
    left = [tmp_path / f".{path.name}.k3j_9a0b.tmp" for path in (out, *ckpt.files_beside(out))]
    for path in left:
        path.write_bytes(b"half written")
    other = tmp_path / ".other.pt.k3j_9a0b.tmp"
    other.write_bytes(b"another run's")
    result = run_script("train.py", *TINY, "--epochs", "1", "--data-dir", str(synthetic_dir), "--out", str(out),
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for path in left:
        assert not path.exists()
        assert f"removed {path}, left by a run that was killed while writing" in result.stdout
    assert other.exists()
    assert sorted(p.name for p in tmp_path.glob(".*.tmp")) == [other.name]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])  # SIGHUP: the terminal closed
def test_signal_saves_and_says_how_to_resume(synthetic_dir, tmp_path, signum):
    out = tmp_path / "run.pt"
    process = start([*TINY, "--epochs", "200", "--data-dir", str(synthetic_dir), "--out", str(out)], tmp_path)
    time.sleep(0.5)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert f"resume with: python train.py --resume {out}" in stderr and "Traceback" not in stderr
    ckpt.load_model(out)


def test_a_terminal_that_hung_up_costs_the_run_nothing(synthetic_dir, tmp_path):
    """The terminal closed (an ssh session dropped): SIGHUP, and from then on every write to it fails
    (EIO). The run still saves, and ends with 130 like any other stop, not 1 at its last message."""
    import pty

    out = tmp_path / "run.pt"
    terminal, run_side = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *TINY, "--epochs", "200", "--data-dir",
                                str(synthetic_dir), "--out", str(out)], cwd=tmp_path, env=env,
                               stdin=run_side, stdout=run_side, stderr=run_side)
    os.close(run_side)
    seen, deadline = b"", time.monotonic() + 60
    while b"parameters:" not in seen and time.monotonic() < deadline:  # training is about to start
        if select.select([terminal], [], [], 1)[0]:  # a run that stalls silently fails the test, not hangs it
            seen += os.read(terminal, 4096)
    time.sleep(0.5)
    os.close(terminal)  # the terminal is gone: the run's writes to it now fail with EIO
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=60) == 130
    assert ckpt.load(out)["progress"]["step"] > 0 or ckpt.load(out)["progress"]["epoch"] > 0


QUIET_A_DEAD_TERMINAL = """
import os, pty
from lstm_mnist.training import quiet_a_terminal_that_hung_up
terminal, run_side = pty.openpty()
for fd in (1, 2):
    os.dup2(run_side, fd)
os.close(run_side)
os.close(terminal)  # the terminal is gone: a write to it fails with EIO
free = os.dup(0)  # the lowest free descriptor
os.close(free)
quiet_a_terminal_that_hung_up()
for fd in (1, 2):
    os.write(fd, b"to nowhere")
after = os.dup(0)
os.close(after)
raise SystemExit(0 if after == free else 3)
"""


def test_quieting_a_dead_terminal_leaves_no_descriptor_open():
    """/dev/null, opened to be copied onto stdout and stderr, was left open: two descriptors a run held
    for nothing until it ended."""
    result = subprocess.run([sys.executable, "-c", QUIET_A_DEAD_TERMINAL], cwd=ROOT, stdin=subprocess.DEVNULL,
                            env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0


def test_second_ctrl_c_quits_at_once_without_damage(synthetic_dir, tmp_path):
    out = tmp_path / "run.pt"
    process = start([*TINY, "--epochs", "200", "--data-dir", str(synthetic_dir), "--out", str(out)], tmp_path)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr
    if out.exists():
        ckpt.load_model(out)
    assert not list(tmp_path.glob(".*.tmp"))


def test_planned_stop_and_resume_equals_a_straight_run_also_with_deterministic(synthetic_dir, tmp_path):
    """3 epochs straight == 1 epoch (--stop-after 1) + resume, with the cosine schedule."""
    args = [*TINY, "--epochs", "3", "--data-dir", str(synthetic_dir)]
    split, straight = tmp_path / "split.pt", tmp_path / "straight.pt"
    first = run_script("train.py", *args, "--stop-after", "1", "--out", str(split), cwd=tmp_path)
    assert first.returncode == 0 and "stopped after epoch 1 of 3 (--stop-after)" in first.stdout
    assert ckpt.load(split)["progress"]["epoch"] == 1
    assert run_script("train.py", "--resume", str(split), "--data-dir", str(synthetic_dir), "--device", "cpu",
                      cwd=tmp_path).returncode == 0
    result = run_script("train.py", *args, "--deterministic", "--out", str(straight), cwd=tmp_path)
    assert result.returncode == 0 and "(deterministic)" in result.stdout
    a, b = ckpt.load(split), ckpt.load(straight)
    assert same_weights(a, b)
    assert a["optimizer"]["state"][0]["exp_avg"].equal(b["optimizer"]["state"][0]["exp_avg"])
    drop = ("seconds", "images_per_second")
    assert [{k: v for k, v in m.items() if k not in drop} for m in a["metrics"]] == \
           [{k: v for k, v in m.items() if k not in drop} for m in b["metrics"]]


def test_divergence_keeps_the_last_good_checkpoint(synthetic_dir, tmp_path):
    torch.manual_seed(0)
    mnist = data.load_mnist(synthetic_dir)
    model = LSTMClassifier(hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters())
    config = TrainConfig(epochs=2, batch_size=64)
    out = tmp_path / "run.pt"
    fit(model, optimizer, mnist, config, out, options=RunOptions(stop_after=1))
    good = out.read_bytes()
    mnist.train.images[:] = float("nan")
    progress = Progress(**ckpt.load(out)["progress"])
    with pytest.raises(TrainingDiverged, match=r"epoch 2 .*last good checkpoint is kept in .*run\.pt"):
        fit(model, optimizer, mnist, config, out, progress=progress, options=RunOptions(log_every=1))
    assert out.read_bytes() == good


def test_full_disk_is_refused_before_training(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 10**5, 10**5))
    with pytest.raises(ValueError, match=r"only 0.1 MB free .* needs about 2.0 MB \(a 1.0 MB file"):
        check_output_path(tmp_path / "run.pt", may_replace=False, needed_bytes=10**6)
    check_output_path(tmp_path / "run.pt", may_replace=False, needed_bytes=10**4)  # small enough


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where nobody can write")
def test_unwritable_output_folder(run_in_process, tmp_path):
    result = run_in_process("train.py", "--out", "/proc/checkpoint.pt", cwd=tmp_path)
    assert result.returncode == 2 and "cannot write in /proc" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_format_version(tmp_path):
    path = tmp_path / "run.pt"
    torch.save({"format": ckpt.FORMAT, "version": "one", "model_config": {}, "model": {}}, path)
    with pytest.raises(ckpt.CheckpointError, match="unknown checkpoint format version"):
        ckpt.load(path)


VALID_IMAGES = idx_bytes(np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256)
VALID_LABELS = idx_bytes(np.array([3, 1, 4], np.uint8))


def mutations():
    """Valid IDX bytes with a few bytes changed, cut short or extended; or plain random bytes."""
    def mutate(args):
        base, edits, cut, tail = args
        raw = bytearray(base)
        for position, value in edits:
            raw[position % len(raw)] = value
        return bytes(raw[: max(0, len(raw) - cut)]) + tail

    edits = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), max_size=4)
    mutated = st.tuples(st.sampled_from([VALID_IMAGES, VALID_LABELS]), edits, st.integers(0, 30),
                        st.binary(max_size=8)).map(mutate)
    return st.one_of(mutated, st.binary(max_size=64))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=mutations(), compress=st.booleans(), truncate_gzip=st.integers(0, 10))
def test_reader_returns_a_correct_array_or_its_own_error(tmp_path, raw, compress, truncate_gzip):
    path = tmp_path / ("fuzz.gz" if compress else "fuzz")
    path.write_bytes(gzip.compress(raw)[: -truncate_gzip or None] if compress else raw)
    for read in (data.read_idx, data.read_images, data.read_labels):
        try:
            array = read(path)
        except DataError as e:
            assert str(path) in str(e) and "\n" not in str(e)
            continue
        # Whatever was accepted is exactly what the bytes say.
        payload = raw[4 + 4 * raw[3]:]
        assert array.dtype == np.uint8 and array.tobytes() == payload
        assert list(array.shape) == [int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(raw[3])]
        if read is data.read_images:
            assert array.shape[1:] == (28, 28)
        if read is data.read_labels:
            assert array.ndim == 1 and (array.size == 0 or array.max() <= 9)


def test_a_stop_signal_that_comes_while_the_run_writes_still_stops_it(monkeypatch, capfd):
    """A signal whose handler finds stdout's buffer busy with the run's own write raises "reentrant call inside
    <_io.BufferedWriter>" (a RuntimeError) from the handler into whatever the run was doing: a SIGTERM under load
    ended a run with status 1, unsaved. The handler's line now goes around the busy buffer, and the run stops."""
    def busy(line, *args, **kwargs):
        raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stdout>'>")

    monkeypatch.setattr(training.tqdm, "write", busy)
    with training.StopSignals() as stop:
        stop._handle(signal.SIGTERM, None)  # as Python calls it, between two bytecodes of the run's write
    assert stop.requested
    assert "SIGTERM: stopping before the training starts (" in capfd.readouterr().out
