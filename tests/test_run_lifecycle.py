"""train.py across a run's life: the commands it prints run as printed, a resumed run goes on
from where it stood (its length, its data, its TensorBoard log), and the checkpoint it leaves
behind is read as what it is. (A single command's contract: test_train_contract.py.)"""

import shlex

import pytest

from lstm_mnist import checkpoint as ckpt

TINY = ["--device", "cpu", "--hidden-size", "8", "--batch-size", "16", "--limit-train", "48", "--epochs", "1",
        "--validation-size", "100", "--no-figure"]


def printed_command(text: str, after: str) -> list[str]:
    """The command line printed after ``after`` ("resume with: "), split as a shell splits it."""
    line = next(line for line in text.splitlines() if after in line)
    return shlex.split(line.split(after, 1)[1])


def test_printed_commands_run_for_a_checkpoint_named_like_an_option(run_in_process, synthetic_dir, tmp_path):
    """--out=-x.pt: the resume and evaluate commands printed name it ./-x.pt, not as an option."""
    first = run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", "--data-dir", str(synthetic_dir),
                           "--out=-x.pt", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resume = printed_command(first.stdout, "resume with: ")
    assert resume[:3] == ["python", "train.py", "--resume"] and resume[3] == "./-x.pt"
    second = run_in_process(resume[1], *resume[2:], "--device", "cpu", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    evaluate = printed_command(second.stdout, "evaluate with: ")
    assert evaluate[2] == "./-x.pt"
    result = run_in_process(evaluate[1], *evaluate[2:], "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 0 and "test accuracy:" in result.stdout, result.stderr
