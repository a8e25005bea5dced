"""scripts/make_results.py end to end on tiny data: a run it finds finished is summarised (test
accuracy from the checkpoint, the first 128 test images evaluated again), kept as JSON and put
in the README's table. Training a real preset takes half a minute or more, so the test trains a
tiny run under the preset's name first, and the script summarises it as it does a run it has
just trained (the same code after train.py exits)."""

import json
import os
import shutil
import subprocess
import sys

import torch

from conftest import ROOT, run_script
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.data import MNIST, load_mnist
from lstm_mnist.evaluation import evaluate
from lstm_mnist.model import ModelConfig
from lstm_mnist.training import TrainConfig, train

README = "# results\n\n<!-- results:start -->\nold table\n<!-- results:end -->\n\nafter\n"


def tiny_run(data_dir, out):
    """A checkpoint of a finished run of preset seed-rows-100k, seed 0: 8 units, 256 images, one epoch."""
    data = load_mnist(data_dir)
    small = MNIST(data.train.head(256), data.val.head(200), data.test)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(ModelConfig(hidden_size=8), TrainConfig(epochs=1, batch_size=64, seed=0, preset="seed-rows-100k"),
              small, out)
    finally:
        torch.set_num_threads(threads)
    return data.test


def test_a_finished_run_is_summarised_into_json_and_the_readme(synthetic_dir, tmp_path):
    """Running make_results.py again after its training (or after a crash) summarises the finished
    run instead of failing: the user relies on getting the JSON and the README table from it."""
    results = tmp_path / "results"
    (results / "runs").mkdir(parents=True)
    test = tiny_run(synthetic_dir, results / "runs" / "seed-rows-100k-seed0.pt")
    (tmp_path / "README.md").write_text(README)
    command = ("scripts/make_results.py", "--data-dir", str(synthetic_dir), "--presets", "seed-rows-100k",
               "--seeds", "0", "--results", str(results), "--readme", "README.md")
    result = run_script(*command, cwd=tmp_path, env={"OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "seed-rows-100k-seed0.pt: finished earlier, summarising it" in result.stdout

    summary = json.loads((results / "seed-rows-100k-seed0.json").read_text())
    model, checkpoint = ckpt.load_model(results / "runs" / "seed-rows-100k-seed0.pt")
    assert summary["preset"] == "seed-rows-100k" and summary["seed"] == 0 and summary["epochs"] == 1
    assert summary["device"] == "cpu (1 thread)"  # OMP_NUM_THREADS=1
    assert summary["test_accuracy"] == checkpoint["metrics"][-1]["accuracy"]
    assert summary["test_accuracy_first_128"] == evaluate(model, test.head(128))["accuracy"]
    readme = (tmp_path / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `seed-rows-100k` |")]
    assert f"{100 * summary['test_accuracy']:.2f}%; first 128 only: " in row
    assert "old table" not in readme and readme.endswith("<!-- results:end -->\n\nafter\n")

    again = run_script(*command, cwd=tmp_path, timeout=300)  # a summary there: kept, the table rebuilt
    assert again.returncode == 0 and "seed-rows-100k-seed0.json: kept (--rerun to train again)" in again.stdout
    assert (tmp_path / "README.md").read_text() == readme


def test_another_results_folder_leaves_the_repositorys_readme_alone(tmp_path):
    """--results DIR builds the table from DIR's summaries alone: it is printed, and goes into a
    README only when --readme names one (it replaced the repository's table, made of all its runs,
    with DIR's). A folder without summaries is an error, not an empty table. The script runs from a
    copy of the repository's layout, so that a failure cannot touch this repository's README."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "results").mkdir()
    shutil.copy(ROOT / "scripts" / "make_results.py", repo / "scripts")
    (repo / "README.md").write_text(README)
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(ROOT / "results" / "best-seed0.json", mine)

    def make_results(*flags):
        return subprocess.run([sys.executable, str(repo / "scripts" / "make_results.py"), "--table-only", *flags],
                              cwd=tmp_path, env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True)

    printed = make_results("--results", str(mine))
    assert printed.returncode == 0, printed.stderr
    assert "| `best` |" in printed.stdout and (repo / "README.md").read_text() == README
    written = make_results("--results", str(mine), "--readme", str(repo / "README.md"))
    assert written.returncode == 0 and "| `best` |" in (repo / "README.md").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    none = make_results("--results", str(empty))
    assert none.returncode == 1 and f"{empty}: no run summaries in it (NAME-seedK.json)" in none.stderr
