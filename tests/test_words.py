"""Counts in the programs' output read as English: "1 step in 1 epoch", "median of 1 round of
1 step", never "1 steps" or "epoch(s)"."""

import json
import re

from conftest import ROOT
from lstm_mnist import bench
from lstm_mnist.words import counted


def test_counted_is_singular_for_one_only():
    """Every count the programs print goes through counted()."""
    assert [counted(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]
    assert counted(1, "process", "processes") == "1 process" and counted(4, "class", "classes") == "4 classes"


def test_no_program_writes_a_plural_in_parentheses():
    """'epoch(s)' is how a program says it did not look at its count: none does, in the package or the scripts."""
    sources = [*(ROOT / "lstm_mnist").rglob("*.py"), *(ROOT / "lstm_mnist" / "web_assets").glob("*.js"),
               *(ROOT / "scripts").glob("*.py"), *ROOT.glob("*.py")]
    found = [f"{path.relative_to(ROOT)}: {match}" for path in sources
             for match in re.findall(r"\w+\(s\)", path.read_text(encoding="utf-8"))]
    assert found == []


def test_one_training_step_is_a_step(run_in_process, synthetic_dir, tmp_path):
    """A quick run of one step says so: '1 step in 1 epoch'."""
    result = run_in_process("train.py", "--device", "cpu", "--hidden-size", "8", "--epochs", "1", "--limit-train",
                            "16", "--batch-size", "16", "--data-dir", str(synthetic_dir), "--out",
                            str(tmp_path / "run.pt"), "--no-figure", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "; 1 step in 1 epoch\n" in result.stdout


def test_a_benchmark_of_one_round_of_one_step_says_so():
    """python -m lstm_mnist.bench --smoke (one round of one step) heads its table in English."""
    [result] = json.loads((ROOT / "results" / "bench-cpu.json").read_text())
    table = bench.format_table(result | {"rounds": 1, "steps_per_round": 1})
    assert "; median of 1 round of 1 step; " in table.splitlines()[0]
