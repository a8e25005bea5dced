"""The walkthrough's debugger session happens exactly as printed: its commands are typed into
``python -m pdb`` on the shipped model and digit, and pdb's answers must be the printed ones
(paths shown relative to the repository, as they are when you run it from there)."""

import re
import subprocess
import sys

from conftest import ROOT

WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


def documented_session() -> tuple[list[str], str]:
    """The session's command line (after ``$ python``) and its transcript, from the walkthrough."""
    block = re.search(r"```\n\$ python (-m pdb [^\n]*)\n(.*?)```", WALKTHROUGH.read_text(), re.S)
    assert block, "the walkthrough has no '$ python -m pdb ...' session"
    return block.group(1).split(), block.group(2)


def replay(arguments: list[str], commands: list[str]) -> str:
    """Run pdb with ``commands`` as its input and rebuild what a terminal would show: pdb prints
    its prompt, the terminal echoes what was typed."""
    result = subprocess.run([sys.executable, *arguments], input="".join(c + "\n" for c in commands), text=True,
                            capture_output=True, cwd=ROOT, timeout=300)
    answers = result.stdout.split("(Pdb) ")
    transcript = answers[0] + "".join(f"(Pdb) {command}\n{answer}" for command, answer in zip(commands, answers[1:]))
    return transcript.replace(f"{ROOT}/", "")


def test_the_debugger_session_reproduces_exactly():
    arguments, printed = documented_session()
    if sys.version_info[:3] == (3, 13, 0):  # its pdb takes the script's --flags for its own unless a -- ends
        arguments.insert(arguments.index("pdb") + 1, "--")  # pdb's options (CPython 125115; the walkthrough says so)
    commands = re.findall(r"^\(Pdb\) (.*)$", printed, re.M)
    assert commands[-1] == "quit" and "break LSTMCell.forward" in commands  # a breakpoint found by name
    actual = replay(arguments, commands)
    if sys.version_info >= (3, 13):  # pdb places a breakpoint on a function at its body's first line, not its def
        lines = (ROOT / "lstm_mnist" / "cell.py").read_text().splitlines()
        body = lines.index("        if state is None:  # the first row, as nn.LSTMCell takes it: all zeros") + 1
        printed = re.sub(r"(Breakpoint 1 at lstm_mnist/cell\.py:)\d+", rf"\g<1>{body}", printed)
    assert actual.rstrip() == printed.rstrip(), f"pdb now answers:\n{actual}"
