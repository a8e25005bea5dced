"""``pip install .`` gives working console commands; the two dependency lists agree."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def test_requirements_txt_and_pyproject_list_the_same_dependencies():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert sorted(line for line in lines if line) == sorted(project["dependencies"])


def test_the_test_extra_holds_pytest_and_the_plugin_pytest_ini_needs():
    """pytest.ini's -n (pytest-xdist) stopped ``pip install .[test]`` and ``python -m pytest`` before any test:
    'unrecognized arguments: -n --maxprocesses=4 --dist worksteal'."""
    tomllib = pytest.importorskip("tomllib")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert [line for line in lines if line.startswith("pytest")] == [name for name in extra if name.startswith("pytest")]


def can_build_a_wheel_offline() -> bool:
    """pip's --no-build-isolation build uses what is installed: setuptools, and its bdist_wheel (built in
    from setuptools 70.1, the ``wheel`` package before)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None or \
        importlib.util.find_spec("wheel") is not None


@pytest.mark.skipif(not can_build_a_wheel_offline(),
                    reason="building offline needs setuptools >= 70.1 (or setuptools and wheel) installed")
def test_pip_install_gives_working_console_commands(synthetic_dir, tmp_path):
    source = tmp_path / "source"  # build from a copy: a build writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "lstm_mnist", source / "lstm_mnist", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(source)], check=True, capture_output=True)

    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "PYTHONPATH")} | {"PYTHONPATH": str(site)}
    work = tmp_path / "elsewhere"  # not the clone: only the installed package is importable
    work.mkdir()

    def command(name, *args):
        return subprocess.run([str(site / "bin" / name), *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)

    help_text = command("lstm-mnist-train", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("usage: lstm-mnist-train") and "lstm-mnist-train --resume" in help_text.stdout

    assert command("lstm-mnist-predict", "--help").stdout.startswith("usage: lstm-mnist-predict")

    missing = command("lstm-mnist-evaluate", "missing.pt", "--device", "cpu")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "lstm-mnist-evaluate: error: checkpoint missing.pt not found"

    trained = command("lstm-mnist-train", "--device", "cpu", "--hidden-size", "8", "--epochs", "1",
                      "--limit-train", "32", "--data-dir", str(synthetic_dir), "--out", "run.pt")
    assert trained.returncode == 0, trained.stderr
    assert "evaluate with: lstm-mnist-evaluate run.pt" in trained.stdout
    inspected = command("lstm-mnist-inspect", "run.pt", "--index", "3", "--device", "cpu", "--data-dir",
                        str(synthetic_dir))
    assert inspected.returncode == 0, inspected.stderr
    assert (work / "trace-test-3.png").exists() and "prediction:" in inspected.stdout
    evaluated = command("lstm-mnist-evaluate", "run.pt", "--json", "--device", "cpu", "--data-dir", str(synthetic_dir))
    assert evaluated.returncode == 0 and '"n": 300' in evaluated.stdout
    site = command("lstm-mnist-web", "run.pt", "--out", "site", "--samples", "2", "--data-dir", str(synthetic_dir))
    assert site.returncode == 0, site.stderr  # the page's files are installed with the package
    assert {"index.html", "app.js", "cell.js", "weights.js"} <= {p.name for p in (work / "site").iterdir()}
