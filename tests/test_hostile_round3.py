"""Hostile inputs, third round: empty paths in every program's flags, names that would break a
one-line message or a terminal, outputs that collide with each other, flags that would do
nothing. Called in-process where the command allows it (no torch import per case)."""

import argparse
import importlib
import sys

import pytest

from conftest import ROOT
from lstm_mnist import cli

SCRIPTS = ("bench_table", "forget_bias_sweep", "make_results", "make_shipped_checkpoint", "rnn_vs_lstm",
           "web_screenshot")
MODULES = ("lstm_mnist.commands.train", "lstm_mnist.commands.evaluate", "lstm_mnist.commands.predict",
           "lstm_mnist.commands.inspect_digit", "lstm_mnist.web", "lstm_mnist.bench")


class Parsed(Exception):
    """Raised in place of parsing: carries the parser a program built."""


def parser_of(program: str, monkeypatch) -> argparse.ArgumentParser:
    """The argument parser that ``program`` (a module, or a script of scripts/) builds in its main."""
    def capture(self, *args, **kwargs):
        raise Parsed(self)

    monkeypatch.setattr(cli.ArgumentParser, "parse_args", capture)
    if program in SCRIPTS:
        spec = importlib.util.spec_from_file_location(program, ROOT / "scripts" / f"{program}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(program)
    monkeypatch.setattr(sys, "argv", [program])
    with pytest.raises(Parsed) as caught:
        module.main()
    return caught.value.args[0]


@pytest.mark.parametrize("program", SCRIPTS + MODULES)
def test_no_flag_of_any_program_takes_an_empty_value_as_the_current_folder(program, monkeypatch):
    """'' as a path is the current folder to ``Path``: forget_bias_sweep.py --out '' wrote its
    results there. Every typed argument of every program refuses ''."""
    parser = parser_of(program, monkeypatch)
    accepted = []
    for action in parser._actions:
        if action.type is None or action.choices is not None:
            continue
        try:
            action.type("")
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        accepted.append(action.option_strings[0] if action.option_strings else action.dest)
    assert not accepted, f"{program} takes '' for {accepted}"

