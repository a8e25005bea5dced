"""The walkthrough stays true: its examples run, its line numbers point where it says, its
figures exist, and the commands that make them are the documented ones."""

import doctest
import re

from conftest import ROOT

WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


def test_the_numpy_examples_print_what_the_walkthrough_says():
    result = doctest.testfile(str(WALKTHROUGH), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_every_figure_shown_exists_and_has_a_documented_command():
    text = WALKTHROUGH.read_text()
    shown = set(re.findall(r"\]\(figures/([\w.-]+\.(?:png|gif))\)", text))
    shown |= set(re.findall(r"\]\(docs/figures/([\w.-]+\.(?:png|gif))\)", (ROOT / "README.md").read_text()))
    assert shown == {"trace-test-7.png", "trace-test-7.gif", "checkpoint.training.png", "confusion_matrix.png",
                     "misclassified.png", "gradient_per_row.png", "forget_bias_sweep.png", "web.png"}
    for name in shown:
        data = (ROOT / "docs" / "figures" / name).read_bytes()
        assert data[:4] in (b"\x89PNG", b"GIF8") and len(data) < 1_000_000, name
    commands = text[text.index("## Regenerating the figures"):]
    for made_by in ("make_shipped_checkpoint.py --data-dir DIR --overwrite --full docs/figures/checkpoint.pt",
                    "--image docs/digits/test-7.png --figure docs/figures/trace-test-7.png "
                    "--animation docs/figures/trace-test-7.gif",
                    "evaluate.py docs/model/lstm-mnist.pt --data-dir DIR --plots docs/figures",
                    "scripts/rnn_vs_lstm.py --data-dir DIR --out docs/figures --overwrite",
                    "scripts/forget_bias_sweep.py --data-dir DIR --out docs/figures --overwrite",
                    "scripts/web_screenshot.py docs/model/lstm-mnist.pt --data-dir DIR --out docs/figures/web.png"):
        assert made_by in commands


def test_the_readmes_python_api_example_runs_as_written():
    """The README's first example of the Python API runs and prints the shapes it says; the trained
    model it names loads the way it says."""
    import contextlib
    import io

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The Python API"):]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example, {})
    assert printed.getvalue() == "torch.Size([4, 128]) torch.Size([4, 128])\n"
    loading = re.search(r"`(from lstm_mnist\.checkpoint import\s+load_model)`, then "
                        r"`(model, _ = load_model\(\"([^\"]+)\"\))`", section)
    namespace = {}
    statement = loading.group(2).replace(loading.group(3), str(ROOT / loading.group(3)))  # from any folder
    exec(re.sub(r"\s+", " ", loading.group(1)) + "\n" + statement, namespace)
    assert namespace["model"].config.hidden_size == 128


def test_the_walkthroughs_python_examples_run_as_written(monkeypatch):
    """Every Python block of the walkthrough that uses this package runs, pasted as it is, from the
    repository's root (the TensorFlow code, the model's own loop quoted with ``self`` and the numpy
    doctests are left out); the trace example gives the shapes it says."""
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", WALKTHROUGH.read_text(), re.S)
    runnable = [block for block in blocks if "lstm_mnist" in block and "self." not in block and ">>>" not in block]
    assert len(runnable) == 3
    namespaces = [{} for _ in runnable]
    for block, namespace in zip(runnable, namespaces):
        exec(block, namespace)
    traced = next(namespace["t"] for namespace in namespaces if "t" in namespace)
    assert tuple(traced.steps["f"].shape) == (28, 128)
    assert round(traced.steps["f"][0].mean().item(), 2) == 0.8  # the session's forget gate at row 0: the same numbers
