"""Hostile inputs to the benchmark and the scripts: each is refused with one line on stderr (no
traceback), exit status 2 for a bad command line and 1 for anything else, and nothing is written.
None of these runs a benchmark or trains: every problem is found before the work starts."""

import importlib.util
import json
import shutil

import pytest
import torch

from conftest import ROOT, run_script
from lstm_mnist import bench
from lstm_mnist.errors import LSTMMnistError

BENCH = ("-m", "lstm_mnist.bench", "--device", "cpu", "--smoke", "--batch-size", "16", "--hidden-size", "16")


def files_in(folder):
    """Every file and folder under ``folder``, with each file's size and modification time (a
    folder's own changes when the output checks try writing in it)."""
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) if path.is_file() else "folder"
            for path in folder.rglob("*")}


def refused(tmp_path, *command, status: int, naming: tuple[str, ...]) -> str:
    """Run ``command`` in ``tmp_path``; check that it failed with ``status``, one line on stderr
    holding each of ``naming``, no traceback, and no file written or changed in ``tmp_path``."""
    before = files_in(tmp_path)
    result = run_script(*command, cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, result.stderr
    [line] = result.stderr.splitlines()
    assert ": error: " in line
    for words in naming:
        assert words in line, line
    assert files_in(tmp_path) == before
    return line


# --- python -m lstm_mnist.bench ---------------------------------------------------------------

@pytest.mark.parametrize("flags, naming", [
    (["--batch-size", "0"], ["--batch-size", "at least 1"]),
    (["--batch-size", "-3"], ["--batch-size", "at least 1"]),
    (["--batch-size", "2000000"], ["--batch-size", "at most 1,000,000"]),
    (["--hidden-size", "0"], ["--hidden-size", "at least 1"]),
    (["--hidden-size", "100000000"], ["--hidden-size 100000000", "GB", "choose a smaller --hidden-size"]),
    (["--threads", "100000"], ["--threads", "per CPU core"]),
    (["--threads", "0"], ["--threads", "at least 1"]),
    (["--rounds", "0"], ["--rounds", "at least 1"]),  # --smoke sets them to 1, but 0 is still refused
    (["--steps", "-1"], ["--steps", "at least 1"]),
    (["--rounds", "x"], ["--rounds", "whole number"]),
])
def test_bench_refuses_numbers_out_of_range(tmp_path, flags, naming):
    refused(tmp_path, *BENCH, *flags, status=2, naming=("python -m lstm_mnist.bench: error:", *naming))


def test_bench_refuses_a_json_path_that_is_a_folder_or_in_a_missing_one(tmp_path):
    (tmp_path / "folder").mkdir()
    refused(tmp_path, *BENCH, "--json", "folder", status=2, naming=("--json folder", "is a folder"))
    refused(tmp_path, *BENCH, "--json", "no/b.json", status=2, naming=("--json no/b.json", "does not exist"))


def test_bench_never_replaces_a_file_as_json_without_overwrite(tmp_path):
    checkpoint = tmp_path / "run.pt"
    checkpoint.write_bytes(b"a checkpoint")
    refused(tmp_path, *BENCH, "--json", "run.pt", status=2, naming=("--json run.pt", "exists", "--overwrite"))
    assert checkpoint.read_bytes() == b"a checkpoint"


def test_bench_checks_the_time_to_accuracy_data_before_the_benchmark(tmp_path, synthetic_dir):
    (tmp_path / "empty").mkdir()
    refused(tmp_path, *BENCH, "--time-to-accuracy", "empty", "--json", "b.json", status=1,
            naming=("--time-to-accuracy", "empty lacks", "t10k-images-idx3-ubyte"))
    broken = tmp_path / "broken"
    shutil.copytree(synthetic_dir, broken)
    labels = broken / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:20])
    refused(tmp_path, *BENCH, "--time-to-accuracy", "broken", "--json", "b.json", status=1,
            naming=("--time-to-accuracy", "t10k-labels-idx1-ubyte.gz"))


def test_a_failing_train_py_is_reported_by_its_last_line(tmp_path):
    with pytest.raises(LSTMMnistError) as error:
        bench.time_to_accuracy("cpu", str(tmp_path), [])
    [line] = str(error.value).splitlines()
    assert line.startswith("python train.py --device cpu failed (exit status 1): train.py: error: ")
    assert f"{tmp_path} lacks" in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_bench_without_cuda_refuses_device_cuda(tmp_path):
    refused(tmp_path, "-m", "lstm_mnist.bench", "--device", "cuda", status=2,
            naming=("--device cuda", "CUDA is not available"))


# --- scripts/bench_table.py and scripts/make_results.py ---------------------------------------

@pytest.mark.parametrize("content, naming", [
    ("[1, 2]", "entry 0 has neither"),
    ("{}", "a non-empty list of results"),
    ('{"rows": []}', "a non-empty list of results"),
    ("[]", "a non-empty list of results"),
    ("not json", "it is not JSON"),
    ('[{"rows": [{"variant": "x"}]}]', "incomplete or malformed"),
])
def test_bench_table_refuses_a_json_that_is_not_the_benchmarks(tmp_path, content, naming):
    (tmp_path / "bench.json").write_text(content)
    refused(tmp_path, "scripts/bench_table.py", "bench.json", status=1,
            naming=("scripts/bench_table.py: error: bench.json is not what python -m lstm_mnist.bench --json writes",
                    naming))


def test_bench_table_refuses_a_missing_json_and_a_readme_without_markers(tmp_path):
    refused(tmp_path, "scripts/bench_table.py", "missing.json", status=1, naming=("missing.json not found",))
    shutil.copy(ROOT / "results" / "bench-cpu.json", tmp_path / "bench.json")
    refused(tmp_path, "scripts/bench_table.py", "bench.json", "--readme", "missing.md", status=1,
            naming=("README missing.md not found",))
    (tmp_path / "README.md").write_text("# no markers here\n")
    refused(tmp_path, "scripts/bench_table.py", "bench.json", "--readme", "README.md", status=1,
            naming=("README.md has no <!-- bench:start --> ... <!-- bench:end --> markers",))


def test_make_results_checks_the_readme_and_the_seeds_first(tmp_path):
    refused(tmp_path, "scripts/make_results.py", "--table-only", "--readme", "missing.md", status=1,
            naming=("README missing.md not found",))
    (tmp_path / "README.md").write_text("# no markers here\n")
    refused(tmp_path, "scripts/make_results.py", "--readme", "README.md", "--data-dir", "nowhere", status=1,
            naming=("README.md has no <!-- results:start -->",))
    refused(tmp_path, "scripts/make_results.py", "--seeds", "0", "-1", status=2, naming=("--seeds", "at least 0"))
    refused(tmp_path, "scripts/make_results.py", "--device", "gpu", status=2, naming=("--device", "'gpu'"))
    (tmp_path / "README.md").write_text("<!-- results:start -->\n<!-- results:end -->\n")
    refused(tmp_path, "scripts/make_results.py", "--table-only", "--readme", "README.md", "--results", "nowhere",
            status=2, naming=("--results nowhere", "folder does not exist"))


SUMMARY = {"preset": "best", "seed": 0, "test_accuracy": 0.9933, "test_accuracy_first_128": 1.0,
           "val_accuracy": 0.9928, "train_seconds": 419.2, "device": "cpu (2 threads)"}


def load_script(name: str):
    """A script of scripts/ as a module, to call its functions."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("content, naming", [
    ({k: v for k, v in SUMMARY.items() if k != "device"}, "field 'device' is missing"),
    (SUMMARY | {"seed": "0"}, "field 'seed' is \"0\"; expected a whole number, at least 0"),
    (SUMMARY | {"seed": True}, "field 'seed' is true; expected a whole number"),
    (SUMMARY | {"seed": 1.5}, "field 'seed' is 1.5; expected a whole number"),
    (SUMMARY | {"seed": -1}, "field 'seed' is -1; expected a whole number, at least 0"),
    (SUMMARY | {"test_accuracy": "99%"}, "field 'test_accuracy' is \"99%\"; expected a number from 0 to 1"),
    (SUMMARY | {"val_accuracy": 99.28}, "field 'val_accuracy' is 99.28; expected a number from 0 to 1"),
    (SUMMARY | {"train_seconds": float("nan")}, "field 'train_seconds' is NaN; expected a number, at least 0"),
    (SUMMARY | {"train_seconds": float("inf")}, "field 'train_seconds' is Infinity; expected a number"),
    (SUMMARY | {"train_seconds": None}, "field 'train_seconds' is null"),
    (SUMMARY | {"preset": ["best"]}, "field 'preset' is [\"best\"]; expected a string"),
    ([SUMMARY], "it is a list, not an object"),
    ("not json", "Expecting value"),
])
def test_make_results_reads_only_whole_summaries(tmp_path, content, naming):
    """Each field the table reads is checked for its type and range, in one line naming it."""
    path = tmp_path / "best-seed0.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(LSTMMnistError) as error:
        load_script("make_results").read_summary(path)
    [line] = str(error.value).splitlines()
    assert line.startswith(f"{path}: not a run summary (") and naming in line, line
    assert line.endswith("delete it, or train that run again with --rerun")


def test_make_results_refuses_a_summary_without_a_field_in_one_line(tmp_path):
    """A summary in results/ edited by hand or cut short is refused with one line that names the
    file and the field (exit 1), instead of a KeyError traceback from the table."""
    (tmp_path / "README.md").write_text("<!-- results:start -->\n<!-- results:end -->\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "best-seed1.json").write_text(json.dumps(SUMMARY | {"seed": 1}))
    (tmp_path / "results" / "best-seed0.json").write_text(json.dumps({k: v for k, v in SUMMARY.items() if k != "seed"}))
    refused(tmp_path, "scripts/make_results.py", "--table-only", "--readme", "README.md", "--results", "results",
            status=1, naming=("scripts/make_results.py: error: results/best-seed0.json: not a run summary (field "
                              "'seed' is missing)",))


# --- scripts/make_shipped_checkpoint.py ---------------------------------------------------------

def shipped(tmp_path, data_dir, *flags, status, naming):
    (tmp_path / "docs").mkdir(exist_ok=True)
    refused(tmp_path, "scripts/make_shipped_checkpoint.py", "--data-dir", str(data_dir), "--out", "docs/model.pt",
            "--digits-out", "docs/digits", *flags, status=status, naming=naming)
    assert not (tmp_path / "docs" / "model.pt").exists() and not (tmp_path / "docs" / "digits").exists()


def test_make_shipped_checkpoint_checks_the_digits_against_the_test_set_before_training(tmp_path, synthetic_dir):
    shipped(tmp_path, synthetic_dir, "--digits", "0", "300", status=2,
            naming=("--digits 300", "the test set has 300 images, 0 to 299"))
    shipped(tmp_path, synthetic_dir, "--digits", "-1", status=2, naming=("--digits", "at least 0"))


def test_make_shipped_checkpoint_refuses_digit_10000_of_the_real_mnist(tmp_path, mnist_dir):
    shipped(tmp_path, mnist_dir, "--digits", "7", "10000", status=2,
            naming=("--digits 10000", "the test set has 10,000 images, 0 to 9,999"))


def test_make_shipped_checkpoint_refuses_missing_folders_and_folders_as_files(tmp_path, synthetic_dir):
    script = ("scripts/make_shipped_checkpoint.py", "--data-dir", str(synthetic_dir))
    refused(tmp_path, *script, "--out", "no/model.pt", "--digits-out", "digits", status=2,
            naming=("--out no/model.pt", "folder no does not exist"))
    refused(tmp_path, *script, "--out", "model.pt", "--digits-out", "no/digits", status=2,
            naming=("--digits-out no/digits", "folder no does not exist"))
    refused(tmp_path, *script, "--out", "model.pt", "--digits-out", "digits", "--full", "no/full.pt", status=2,
            naming=("--full no/full.pt", "folder no does not exist"))
    (tmp_path / "folder").mkdir()
    refused(tmp_path, *script, "--out", "folder", "--digits-out", "digits", "--overwrite", status=2,
            naming=("--out folder", "is a folder"))
    refused(tmp_path, *script, "--out", "model.pt", "--digits-out", "digits", "--full", "model.pt", status=2,
            naming=("--full model.pt", "is also --out"))


# --- scripts/forget_bias_sweep.py and scripts/rnn_vs_lstm.py ------------------------------------

@pytest.mark.parametrize("flags, naming", [
    (["--out", "no/sweep"], ["--out no/sweep", "folder no does not exist"]),
    (["--seeds", "0", "-1"], ["--seeds", "at least 0"]),
    (["--out", "sweep", "--hidden-size", "100000000"], ["--hidden-size 100000000", "choose a smaller --hidden-size"]),
])
def test_forget_bias_sweep_refuses_bad_arguments_before_any_work(tmp_path, synthetic_dir, flags, naming):
    refused(tmp_path, "scripts/forget_bias_sweep.py", "--data-dir", str(synthetic_dir), *flags, status=2,
            naming=("scripts/forget_bias_sweep.py: error:", *naming))


@pytest.mark.parametrize("flags, naming", [
    (["--out", "no/out"], ["--out no/out", "folder no does not exist"]),
    (["--out", "out", "--checkpoints", "no/models"], ["--checkpoints no/models", "folder no does not exist"]),
    (["--out", "out", "--checkpoints", "taken"], ["taken/lstm.pt exists", "--overwrite"]),
    (["--seed", "-1"], ["--seed", "at least 0"]),
    (["--out", "out", "--hidden-size", "100000000"], ["--hidden-size 100000000", "choose a smaller --hidden-size"]),
    (["--out", "out", "--gradient-images", "5001"], ["--gradient-images 5001", "has 5000 images; at most that many"]),
])
def test_rnn_vs_lstm_refuses_bad_arguments_before_any_work(tmp_path, synthetic_dir, flags, naming):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "lstm.pt").write_bytes(b"a model")
    refused(tmp_path, "scripts/rnn_vs_lstm.py", "--data-dir", str(synthetic_dir), "--device", "cpu",
            "--cells", "lstm", *flags, status=2, naming=("scripts/rnn_vs_lstm.py: error:", *naming))
    assert not (tmp_path / "out").exists()


# --- scripts/web_screenshot.py ------------------------------------------------------------------

def test_web_screenshot_refuses_bad_arguments_before_starting_a_browser(tmp_path):
    checkpoint = str(ROOT / "docs" / "model" / "lstm-mnist.pt")
    refused(tmp_path, "scripts/web_screenshot.py", checkpoint, "--out", "web.png", "--row", "28", status=2,
            naming=("--row", "at most 27"))
    refused(tmp_path, "scripts/web_screenshot.py", checkpoint, "--out", "no/web.png", status=2,
            naming=("--out no/web.png", "folder no does not exist"))


def test_web_screenshot_refuses_a_missing_checkpoint_as_every_command_does(tmp_path):
    """A missing input file is exit status 1 (not a usage error), as in train.py, evaluate.py and the rest."""
    checkpoint = str(ROOT / "docs" / "model" / "lstm-mnist.pt")
    refused(tmp_path, "scripts/web_screenshot.py", "missing.pt", "--out", "web.png", status=1,
            naming=("scripts/web_screenshot.py: error: checkpoint missing.pt not found",))
    refused(tmp_path, "scripts/web_screenshot.py", checkpoint, "--compare", "missing.pt", "--out", "web.png",
            status=1, naming=("checkpoint missing.pt not found",))


def test_every_script_reports_through_cli_run():
    """No script ends with a bare sys.exit(main()): errors would come out as tracebacks."""
    for script in sorted((ROOT / "scripts").glob("*.py")):
        text = script.read_text()
        assert "sys.exit(main())" not in text and "argparse.ArgumentParser(" not in text, script.name
        assert "run(main, " in text, script.name
