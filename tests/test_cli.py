"""train.py and evaluate.py end to end, as a user runs them: results, resume, Ctrl-C, errors."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from conftest import ROOT, run_script
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import figures

SMALL = ["--device", "cpu", "--hidden-size", "32", "--batch-size", "16", "--validation-size", "500",
         "--limit-train", "400"]


def one_line_error(result, status):
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def epoch_records(metrics):
    """The per-epoch and per-log-interval records without their timings (a resumed run also
    holds the test result of the run it continued)."""
    return [{k: v for k, v in m.items() if k not in ("seconds", "images_per_second")}
            for m in metrics if m["event"] in ("epoch", "log")]


def assert_same_training_state(a, b):
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    state_a, state_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        for field in state_a[key]:
            assert torch.equal(state_a[key][field], state_b[key][field]), (key, field)
    assert epoch_records(a["metrics"]) == epoch_records(b["metrics"])
    assert a["metrics"][-1] == b["metrics"][-1]  # the final test result
    assert a["progress"]["epoch"] == b["progress"]["epoch"]


def test_train_then_evaluate(synthetic_dir, tmp_path):
    out = tmp_path / "run.pt"
    result = run_script("train.py", *SMALL, "--epochs", "3", "--lr", "0.01", "--data-dir", str(synthetic_dir),
                        "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "device: cpu" in result.stdout and "epoch 3/3:" in result.stdout and "test accuracy:" in result.stdout
    metrics = [json.loads(line) for line in ckpt.metrics_path(out).read_text().splitlines()]
    assert [m["event"] for m in metrics if m["event"] != "log"] == ["epoch"] * 3 + ["test"]
    # 400 training images, batches of 16: one log record at each epoch's last step (25 < --log-every 50)
    assert [(m["epoch"], m["step"]) for m in metrics if m["event"] == "log"] == [(1, 25), (2, 25), (3, 25)]
    assert metrics[-1]["n"] == 300
    figure = ckpt.figure_path(out)  # the loss and accuracy curves beside the checkpoint
    assert figure.name == "run.training.png"
    with Image.open(figure) as png:
        assert png.format == "PNG" and png.size == tuple(round(d * figures.DPI) for d in figures.TRAINING_CURVES_SIZE)
    assert str(figure) in result.stdout
    assert metrics[-1]["accuracy"] > 0.5  # the synthetic digits are easy; chance is 0.1

    evaluated = run_script("evaluate.py", str(out), "--json", "--device", "cpu",
                           "--data-dir", str(synthetic_dir), cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["n"] == 300 and report["accuracy"] == metrics[-1]["accuracy"]
    assert len(report["per_class"]) == 10 and len(report["confusion_matrix"]) == 10
    assert sum(map(sum, report["confusion_matrix"])) == 300

    text = run_script("evaluate.py", str(out), "--split", "val", "--device", "cpu",
                      "--data-dir", str(synthetic_dir), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    [accuracy_line] = [line for line in text.stdout.splitlines() if line.startswith("val accuracy:")]
    assert "/500 images)" in accuracy_line  # the checkpoint's validation split (--validation-size), not the test's
    assert "confusion matrix" in text.stdout and "per-class accuracy" in text.stdout
    assert not list(tmp_path.glob(".*tmp")), "temporary files left behind"


def test_data_dir_from_environment(synthetic_dir, tmp_path):
    result = run_script("train.py", *SMALL, "--epochs", "1", "--limit-train", "50", "--out", str(tmp_path / "a.pt"),
                        cwd=tmp_path, env={"MNIST_DIR": str(synthetic_dir)})
    assert result.returncode == 0, result.stderr
    assert "data: 50 training, 500 validation, 300 test images" in result.stdout


def test_resume_is_exact(synthetic_dir, tmp_path):
    """1 epoch, then --resume to 2, equals 2 straight. (With the cosine schedule the decay spans
    --epochs, so a 1-epoch run is another schedule: this needs a constant learning rate.)"""
    common = [*SMALL, "--data-dir", str(synthetic_dir), "--seed", "7", "--lr-schedule", "constant"]
    straight, split = tmp_path / "straight.pt", tmp_path / "split.pt"
    assert run_script("train.py", *common, "--epochs", "2", "--out", str(straight)).returncode == 0
    assert run_script("train.py", *common, "--epochs", "1", "--out", str(split)).returncode == 0
    resumed = run_script("train.py", "--resume", str(split), "--epochs", "2", "--device", "cpu",
                         "--data-dir", str(synthetic_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "epoch 2/2:" in resumed.stdout
    assert_same_training_state(ckpt.load(straight), ckpt.load(split))

    again = run_script("train.py", "--resume", str(split), "--data-dir", str(synthetic_dir), "--device", "cpu")
    assert again.returncode == 0 and "already trained the 2 epochs asked for" in again.stdout


def test_ctrl_c_saves_the_exact_point_and_resume_finishes_identically(synthetic_dir, tmp_path):
    common = ["--device", "cpu", "--hidden-size", "64", "--batch-size", "1", "--epochs", "3", "--seed", "3",
              "--limit-train", "150", "--data-dir", str(synthetic_dir)]
    interrupted, straight = tmp_path / "interrupted.pt", tmp_path / "straight.pt"
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"} | {"PYTHONUNBUFFERED": "1",
                                                                       "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *common, "--out", str(interrupted)],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch 1/3:"):  # the first epoch is done: the signal lands inside the second
            break
    time.sleep(0.2)  # past the epoch's checkpoint: a stop before the next step stops at the epoch's end
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert f"resume with: python train.py --resume {interrupted}" in stderr
    assert "Traceback" not in stderr
    stopped = ckpt.load(interrupted)["progress"]
    assert stopped["epoch"] < 3 and stopped["step"] > 0, stopped  # stopped inside an epoch

    # the curves so far, or one line saying why not (no log interval finished yet): never a traceback
    assert ckpt.figure_path(interrupted).exists() or "no figure drawn: no metrics to plot yet" in stderr

    resumed = run_script("train.py", "--resume", str(interrupted), "--device", "cpu", "--data-dir", str(synthetic_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert ckpt.figure_path(interrupted).read_bytes()[:4] == b"\x89PNG"  # the whole run's curves
    assert run_script("train.py", *common, "--out", str(straight)).returncode == 0
    assert_same_training_state(ckpt.load(straight), ckpt.load(interrupted))


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "0"], "--batch-size: must be at least 1, got 0"),
    (["--epochs", "-1"], "--epochs: must be at least 1"),
    (["--lr", "0"], "--lr: must be greater than 0"),
    (["--lr", "nan"], "--lr: must be a finite number"),
    (["--lr", "inf"], "--lr: must be a finite number"),
    (["--hidden-size", "big"], "--hidden-size: expected a whole number, got 'big'"),
    (["--seed", "-1"], "--seed: must be at least 0, got -1"),
    (["--forget-bias=-inf"], "--forget-bias: must be a finite number"),
    (["--device", "tpu"], "--device: expected auto, cpu, cuda or cuda:N"),
    (["--limit-train", "0"], "--limit-train: must be at least 1"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_usage_errors(run_in_process, tmp_path, flags, message):
    error = one_line_error(run_in_process("train.py", *flags, cwd=tmp_path), status=2)
    assert message in error and error.startswith("train.py: error:")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("script", ["train.py", "evaluate.py"])
def test_cuda_on_a_machine_without_it(run_in_process, tmp_path, script):
    args = [script, "--device", "cuda"] + (["x.pt"] if script == "evaluate.py" else [])
    error = one_line_error(run_in_process(*args, cwd=tmp_path), status=2)
    assert "CUDA is not available here" in error and "--device cpu" in error


def test_an_existing_checkpoint_is_never_clobbered(run_in_process, synthetic_dir, tmp_path):
    out = tmp_path / "checkpoint.pt"
    out.write_bytes(b"precious")
    error = one_line_error(run_in_process("train.py", *SMALL, "--data-dir", str(synthetic_dir), cwd=tmp_path),
                           status=2)
    assert "exists" in error and "--resume" in error and "--overwrite" in error
    assert out.read_bytes() == b"precious"
    # a failing run with --overwrite (bad data) leaves it alone too
    result = run_in_process("train.py", *SMALL, "--overwrite", "--data-dir", str(tmp_path / "missing"), cwd=tmp_path)
    one_line_error(result, status=1)
    assert out.read_bytes() == b"precious"


def test_unwritable_or_odd_output_paths(run_in_process, tmp_path):
    assert "does not exist" in one_line_error(
        run_in_process("train.py", "--out", str(tmp_path / "no" / "such" / "dir.pt"), cwd=tmp_path), status=2)
    assert "is a folder" in one_line_error(run_in_process("train.py", "--out", str(tmp_path), cwd=tmp_path), status=2)


def test_missing_data_is_one_line(run_in_process, tmp_path):
    error = one_line_error(run_in_process("train.py", "--device", "cpu", "--data-dir", str(tmp_path / "nowhere"),
                                      cwd=tmp_path), status=1)
    assert "nowhere does not exist" in error
    assert not (tmp_path / "checkpoint.pt").exists()


def test_resume_refuses_changed_settings(run_in_process, synthetic_dir, tmp_path):
    out = tmp_path / "run.pt"
    assert run_script("train.py", *SMALL, "--epochs", "1", "--limit-train", "20", "--data-dir", str(synthetic_dir),
                      "--out", str(out)).returncode == 0
    error = one_line_error(run_in_process("train.py", "--resume", str(out), "--hidden-size", "64"), status=2)
    assert "--hidden-size 64 differs from the checkpoint's 32" in error


@pytest.mark.parametrize("contents, message", [
    (None, "not found"),
    (b"garbage", "not a readable checkpoint"),
])
def test_evaluate_bad_checkpoints(run_in_process, tmp_path, contents, message):
    path = tmp_path / "c.pt"
    if contents is not None:
        path.write_bytes(contents)
    error = one_line_error(run_in_process("evaluate.py", str(path), "--device", "cpu", cwd=tmp_path), status=1)
    assert message in error and str(path) in error
    resume = one_line_error(run_in_process("train.py", "--resume", str(path), "--device", "cpu", cwd=tmp_path),
                            status=1)
    assert message in resume


def test_help_lists_every_flag(run_in_process):
    for script, flags in [
        ("train.py", ["--device", "--epochs", "--batch-size", "--hidden-size", "--lr", "--seed", "--data-dir",
                      "--out", "--resume", "--limit-train", "--input-projection", "--forget-bias"]),
        ("evaluate.py", ["--device", "--data-dir", "--split", "--json"]),
    ]:
        result = run_in_process(script, "--help")
        assert result.returncode == 0
        for flag in flags:
            assert flag in result.stdout, (script, flag)


def test_readme_mentions_only_flags_that_exist(run_in_process):
    """The README and the walkthrough name flags in prose; each must be in the --help of one of the commands."""
    import re

    readme = (ROOT / "README.md").read_text() + (ROOT / "docs" / "walkthrough.md").read_text()
    helps = "".join(run_in_process(script, "--help").stdout for script in
                    ("train.py", "evaluate.py", "predict.py", "inspect_digit.py"))
    helps += "".join(run_script(*command, "--help").stdout for command in
                     [("scripts/make_results.py",), ("scripts/rnn_vs_lstm.py",), ("scripts/forget_bias_sweep.py",),
                      ("scripts/make_shipped_checkpoint.py",), ("-m", "lstm_mnist.bench"), ("-m", "lstm_mnist.web")])
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", readme))
    assert mentioned, "the README names no flag at all?"
    other_tools = {"--no-python"}  # torchrun's, in the installed command's line (lstm-mnist-train is no Python file)
    missing = sorted(flag for flag in mentioned - other_tools if flag not in helps)
    assert not missing, f"README mentions flags the commands do not have: {missing}"
    readme_commands = re.findall(r"^python3 -m venv .*$", readme, flags=re.MULTILINE)
    ci = (ROOT / ".ci" / "run").read_text()
    assert len(readme_commands) == 2 and readme_commands[1] in ci, "CI must run the README's test command"


def test_a_validation_split_larger_than_the_data_is_a_usage_error(run_in_process, synthetic_dir, tmp_path):
    """The limit depends on the data, so it is found once the data is read: still exit status 2 and
    one line naming the flag, and nothing written."""
    result = run_in_process("train.py", "--device", "cpu", "--validation-size", "60000", "--data-dir",
                            str(synthetic_dir), "--out", str(tmp_path / "run.pt"), cwd=tmp_path)
    error = one_line_error(result, status=2)
    assert "--validation-size 60000: " in error and "the split needs more than 60000" in error
    assert list(tmp_path.iterdir()) == []


def test_no_cuda_toolkit_warning_in_a_cpu_run(tmp_path):
    """--compile (and the benchmark's compiled variant) loads torch.utils.cpp_extension, which printed 'No CUDA
    runtime is found, using CUDA_HOME=...' on a machine with the CUDA toolkit and no GPU (a classroom's
    shared server): not a word about CUDA in a run on the CPU."""
    import subprocess
    import sys

    env = {**os.environ, "CUDA_HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}  # a toolkit, no GPU
    loads = "import torch.utils.cpp_extension"
    for code, said in ((loads, True), (f"from lstm_mnist import cli; cli.run(lambda: exec({loads!r}), 'x')", False)):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        if said and "No CUDA runtime is found" not in result.stderr:
            pytest.skip("this PyTorch does not warn of a CUDA toolkit without a GPU")
        if said and "No CUDA runtime is found" in subprocess.run(  # PyTorch 2.3 prints it: no log record to filter
                [sys.executable, "-c", f"import logging; logging.disable(); {loads}"], capture_output=True, text=True,
                env=env, cwd=ROOT, timeout=120).stderr:
            pytest.skip("this PyTorch prints the warning itself, not through logging: it cannot be filtered")
        assert ("No CUDA runtime is found" in result.stderr) == said, result.stderr
