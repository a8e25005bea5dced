"""The walkthrough stays true: its examples run, its line numbers point where it says, its
figures exist, and the commands that make them are the documented ones."""

import doctest
import re

from conftest import ROOT

WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


def test_the_numpy_examples_print_what_the_walkthrough_says():
    result = doctest.testfile(str(WALKTHROUGH), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_the_breakpoint_line_is_equation_1():
    """The breakpoint is found by its text (the line tagged ``# (1)``), wherever cell.py puts it."""
    cell = (ROOT / "lstm_mnist" / "cell.py").read_text().splitlines()
    equation_1 = next(number for number, line in enumerate(cell, 1) if "# (1)" in line)
    text = WALKTHROUGH.read_text()
    lines = [int(n) for n in re.findall(r"break lstm_mnist/cell\.py:(\d+)", text)]
    assert lines and set(lines) == {equation_1}
    shown = re.findall(r"cell\.py\((\d+)\)forward\(\)\n-> (.*)\n", text)
    assert shown and all(line == cell[int(number) - 1].strip() for number, line in shown)  # as cell.py has it


def test_every_figure_shown_exists_and_has_a_documented_command():
    text = WALKTHROUGH.read_text()
    shown = set(re.findall(r"\]\(figures/([\w.-]+\.png)\)", text))
    shown |= set(re.findall(r"\]\(docs/figures/([\w.-]+\.png)\)", (ROOT / "README.md").read_text()))
    assert shown == {"trace-test-7.png", "checkpoint.training.png", "confusion_matrix.png", "misclassified.png",
                     "gradient_per_row.png", "web.png"}
    for name in shown:
        assert (ROOT / "docs" / "figures" / name).read_bytes()[:4] == b"\x89PNG", name
    commands = text[text.index("## Regenerating the figures"):]
    for made_by in ("train.py --data-dir DIR --out docs/figures/checkpoint.pt",
                    "--index 7 --figure docs/figures/trace-test-7.png",
                    "evaluate.py docs/figures/checkpoint.pt --data-dir DIR --plots docs/figures",
                    "scripts/rnn_vs_lstm.py --data-dir DIR --out docs/figures",
                    "scripts/web_screenshot.py docs/figures/checkpoint.pt --data-dir DIR --out docs/figures/web.png"):
        assert made_by in commands
