"""Hostile inputs, third round: empty paths in every program's flags, names that would break a
one-line message or a terminal, outputs that collide with each other, flags that would do
nothing. Called in-process where the command allows it (no torch import per case)."""

import argparse
import csv
import gzip
import importlib.util
import io
import os
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from lstm_mnist import cli
from lstm_mnist.files import shell_word, shown

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

    if program in SCRIPTS:
        spec = importlib.util.spec_from_file_location(program, ROOT / "scripts" / f"{program}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(program)
    monkeypatch.setattr(sys, "argv", [program])
    with monkeypatch.context() as parsing, pytest.raises(Parsed) as caught:  # the tests then parse for real
        parsing.setattr(cli.ArgumentParser, "parse_args", capture)
        parsing.setattr(cli.ArgumentParser, "parse_known_args", capture)  # predict.py: words left over
        module.main()
    return caught.value.args[0]


def typed_actions(program: str, monkeypatch) -> list:
    """The program's flags whose value goes through a type function (not a list of choices)."""
    return [a for a in parser_of(program, monkeypatch)._actions if a.type is not None and a.choices is None]


@pytest.mark.parametrize("program", SCRIPTS + MODULES)
def test_no_flag_of_any_program_takes_an_empty_value_as_the_current_folder(program, monkeypatch):
    """'' as a path is the current folder to ``Path``: forget_bias_sweep.py --out '' wrote its
    results there. Every typed argument of every program refuses ''."""
    accepted = []
    for action in typed_actions(program, monkeypatch):
        try:
            action.type("")
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        accepted.append(action.option_strings[0] if action.option_strings else action.dest)
    assert not accepted, f"{program} takes '' for {accepted}"


@pytest.mark.parametrize("program", SCRIPTS + MODULES)
def test_every_number_flag_of_every_program_takes_ascii_digits_only(program, monkeypatch):
    """int() and float() read any script's digits: --epochs ３ (full-width, from an East Asian input
    method) or --lr ０.００１ were taken as 3 and 0.001. Every flag that takes a number refuses them
    alike, in one line, as a usage error (exit 2, argparse's), and still takes the ASCII ones."""
    numbers = []
    for action in typed_actions(program, monkeypatch):
        try:
            action.type("3")  # a flag that takes a number (a path, a name or a device takes other text)
        except (argparse.ArgumentTypeError, ValueError):
            continue
        if isinstance(action.type("3"), (int, float)):
            numbers.append(action)
    for action in numbers:
        for text in ("３", "1２", "٣", "3\u2003", "３.5"):
            with pytest.raises(argparse.ArgumentTypeError, match=r"digits 0-9"):
                action.type(text)
    assert numbers or program in ("bench_table",)


def test_a_device_index_takes_ascii_digits_only():
    """cuda:３ was taken as cuda:3, and cuda:² passed the check (isdigit) to fail later in int()."""
    for text in ("cuda:３", "cuda:²", "cuda:٣"):
        with pytest.raises(argparse.ArgumentTypeError, match="cuda:N"):
            cli.device_name(text)
    assert cli.device_name("cuda:3") == "cuda:3"


# --- names that hold a line break or a terminal's escape ----------------------------------------

def test_a_line_break_or_an_escape_in_a_name_is_shown_escaped_on_one_line(tmp_path, saved, run_in_process):
    ck, folder = saved
    result = run_in_process("evaluate.py", str(ck), "--data-dir", str(tmp_path / "new\nline"))
    assert result.returncode == 1
    assert result.stderr == f"evaluate.py: error: data folder {tmp_path}/new\\nline does not exist\n"
    (folder / "0.png").rename(folder / "\x1b[31mred.png")  # a terminal would turn what follows red
    (folder / "1.png").rename(folder / "two\nlines.png")
    (folder / "bad\n.png").write_bytes(b"not an image")
    result = run_in_process("predict.py", str(ck), str(folder), "--out", "-")
    assert result.returncode == 0 and "\x1b" not in result.stdout + result.stderr
    assert [row[0] for row in csv.reader(io.StringIO(result.stdout))][1:] == ["\\x1b[31mred.png", "2.png",
                                                                                "two\\nlines.png"]
    skipped, summary, _ = result.stderr.splitlines()  # with --out -, the summary goes to stderr; then "unfinished"
    assert summary == "3 images classified, 1 skipped" and skipped.startswith("predict.py: skipped ") and "bad\\n.png" in skipped


def test_a_number_with_a_line_break_is_named_on_one_line(run_in_process):
    result = run_in_process("evaluate.py", "ck.pt", "--batch-size", "2000000\n")  # int() takes it; it is too large
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "got 2000000 (see" in result.stderr


def test_a_name_with_a_control_character_is_pasted_back_as_its_bytes():
    assert shown("a\u2028b\x85c\td") == "a\\u2028b\\x85c\\td"  # line separators too: str.splitlines ends lines there
    assert shell_word("run\n1.pt") == "$'run\\x0a1.pt'" and shell_word("caf\u00e9 1.pt") == "'caf\u00e9 1.pt'"


def test_a_data_folder_that_is_a_link_to_nowhere_says_so(tmp_path, saved, run_in_process):
    os.symlink("loop", tmp_path / "loop")
    result = run_in_process("evaluate.py", str(saved[0]), "--data-dir", str(tmp_path / "loop"))
    assert result.returncode == 1 and "is a link to loop, which leads to no folder" in result.stderr


# --- train.py: outputs that collide, flags that would do nothing ---------------------------------

@pytest.mark.parametrize("make, flags, message", [
    (lambda d: (d / "run.metrics.jsonl").mkdir(), ["--overwrite"],
     "--out run.pt: run.metrics.jsonl, written beside it, exists and is a folder, not a file to replace"),
    (lambda d: (d / "run.training.png").mkdir(), ["--overwrite"],
     "--out run.pt: run.training.png, written beside it, exists and is a folder"),
    (lambda d: None, ["--tensorboard", "run.pt"], "--tensorboard run.pt: is the name of a file this run writes"),
    (lambda d: None, ["--tensorboard", "./run.metrics.jsonl"], "(run.metrics.jsonl, with --out run.pt)"),
])
def test_train_refuses_outputs_that_collide_before_any_work(tmp_path, synthetic_dir, run_in_process, make, flags,
                                                           message):
    """Found only after the training, these ended the run with '.run.metrics.jsonl.XXXX.tmp: Is a
    directory' and a resume hint, or with the checkpoint's name taken by TensorBoard's folder."""
    make(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = run_in_process("train.py", "--data-dir", str(synthetic_dir), "--out", "run.pt", "--epochs", "1",
                            "--no-figure", *flags, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_train_refuses_to_log_into_the_folder_of_the_mnist_files(tmp_path, synthetic_dir, run_in_process):
    """--tensorboard DATA_DIR added event files to the folder of the data set it read (a class's shared copy)."""
    result = run_in_process("train.py", "--data-dir", str(synthetic_dir), "--out", "run.pt", "--tensorboard",
                            str(synthetic_dir), cwd=tmp_path)
    assert result.returncode == 2 and f"--tensorboard {synthetic_dir}: holds the MNIST files this run reads" in \
        result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "run.pt").exists() and not list(synthetic_dir.glob("events.*"))


def test_train_refuses_a_stop_after_already_reached(tmp_path, saved, synthetic_dir, run_in_process):
    """--resume at epoch 1 with --stop-after 1 trained nothing and said 'saved' (--limit-train past the
    training split: test_hostile_inputs.py)."""
    ck, _ = saved  # trained 1 epoch of 2
    stamp = ck.stat().st_mtime_ns
    result = run_in_process("train.py", "--data-dir", str(synthetic_dir), "--resume", str(ck), "--stop-after", "1",
                            "--no-figure", cwd=tmp_path)
    assert result.returncode == 2 and ck.stat().st_mtime_ns == stamp
    assert f"--stop-after 1: {ck} has already trained 1 epoch, so nothing would be trained or saved" in result.stderr


# --- list flags ---------------------------------------------------------------------------------

@pytest.mark.parametrize("program, flags, message", [
    ("rnn_vs_lstm", ["--cells", "lstm", "rnn", "lstm"], "--cells: lstm is given more than once"),
    ("forget_bias_sweep", ["--forget-biases", "1", "1.0"], "--forget-biases: 1.0 is given more than once"),
    ("forget_bias_sweep", ["--seeds", "0", "0"], "--seeds: 0 is given more than once"),
    ("make_results", ["--presets", "best", "best"], "--presets: best is given more than once"),
    ("make_results", ["--seeds", "2", "1", "2"], "--seeds: 2 is given more than once"),
    ("make_shipped_checkpoint", ["--digits", "7", "7"], "--digits: 7 is given more than once"),
    ("lstm_mnist.web", ["--digits", "mine", "docs/digits", "mine/"], "--digits: mine is given more than once"),
    ("lstm_mnist.web", ["--digits", "a\nb.png", "a\nb.png"], "--digits: a\\nb.png is given more than once"),
])
def test_a_value_repeated_in_a_list_flag_is_a_usage_error(program, flags, message, monkeypatch, capsys):
    """Each repeated the same work (rnn_vs_lstm trained the LSTM twice and reported it once; the web
    page offered the same images twice). The repeated value is named as every name is (files.shown)."""
    parser = parser_of(program, monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        argparse.ArgumentParser.parse_args(parser, flags)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("program, flags, dest, expected", [
    ("forget_bias_sweep", ["--seeds", "0", "--seeds", "1", "2"], "seeds", [0, 1, 2]),
    ("rnn_vs_lstm", ["--cells", "gru", "--cells", "rnn"], "cells", ["gru", "rnn"]),
    ("lstm_mnist.web", ["--digits", "a.png", "--digits", "b.png"], "digits", [Path("a.png"), Path("b.png")]),
])
def test_a_list_flag_given_twice_keeps_the_values_of_both(program, flags, dest, expected, monkeypatch, capsys):
    required = ["ck.pt", "--out", "site"] if program == "lstm_mnist.web" else []
    """argparse keeps the last: --digits a.png --digits b.png offered b.png alone, unsaid. The values add up
    (and a value in both is refused, as above); the default stays when the flag is not given."""
    parser = parser_of(program, monkeypatch)
    assert getattr(argparse.ArgumentParser.parse_args(parser, [*required, *flags]), dest) == expected
    with pytest.raises(SystemExit) as exit_:
        argparse.ArgumentParser.parse_args(parser, [*required, *flags, flags[0], flags[1]])
    assert exit_.value.code == 2 and f"{flags[0]}: {flags[1]} is given more than once" in capsys.readouterr().err
    assert getattr(argparse.ArgumentParser.parse_args(parser, required), dest) == parser.get_default(dest)


# --- IDX files whose name lies about their compression ------------------------------------------

@pytest.mark.parametrize("name, content", [
    ("t10k-images-idx3-ubyte", "gzip"),  # a .gz renamed without it: was 'bad magic number 0x1f8b0808'
    ("t10k-images-idx3-ubyte.gz", "raw"),  # a raw file saved as .gz: was 'corrupt or truncated, fetch it again'
])
def test_an_idx_file_is_read_as_what_it_holds_whatever_its_name_says(tmp_path, synthetic_dir, name, content):
    from lstm_mnist import data
    original = synthetic_dir / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(original.read_bytes())
    (tmp_path / name).write_bytes(raw if content == "raw" else original.read_bytes())
    assert data.read_images(tmp_path / name).tobytes() == raw[16:]


# --- predict.py, inspect_digit.py, the web page ----------------------------------------------------

def test_predict_refuses_a_csv_named_as_an_image_and_overwrite_with_stdout(tmp_path, saved, run_in_process):
    """--out digits/x.png wrote the CSV into the folder of images, under a name the next scan reads as
    an image (and skips as unreadable); --overwrite with --out - did nothing, unsaid."""
    ck, folder = saved
    result = run_in_process("predict.py", str(ck), str(folder), "--out", str(folder / "x.PNG"))
    assert result.returncode == 2 and "x.PNG is named as an image (.PNG); the predictions are a CSV" in result.stderr
    result = run_in_process("predict.py", str(ck), str(folder), "--out", "-", "--overwrite")
    assert result.returncode == 2 and "--overwrite replaces an existing --out file, and --out - writes to stdout" in \
        result.stderr and result.stdout == ""
    result = run_in_process("predict.py", str(ck), str(tmp_path / "none"), "--out", "-", "--overwrite")
    assert result.returncode == 2 and "--overwrite replaces" in result.stderr  # a usage error before the images are looked for
    assert sorted(p.name for p in folder.iterdir()) == ["0.png", "1.png", "2.png"]


def test_inspect_digit_cuts_a_default_figure_name_that_would_be_too_long(tmp_path, saved, run_in_process):
    """--image NAME.png with a 240-byte NAME: the default trace-NAME.png was refused with a message
    about --figure, a flag the user never gave. A default is never refused: the name is cut to fit."""
    ck, folder = saved
    image = folder / ("a" * 240 + ".png")
    (folder / "0.png").rename(image)
    result = run_in_process("inspect_digit.py", str(ck), "--image", str(image), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [figure] = tmp_path.glob("trace-*.png")
    assert figure.name == "trace-" + "a" * 231 + ".png"  # 241 bytes: 255 less the temporary name's 14


def test_web_refuses_samples_asked_for_where_there_are_none(tmp_path, saved, capsys, monkeypatch):
    """--samples 50 without MNIST files made a page with no digit to pick; asked for, they must be there.
    Left to its default, the page is made (and the summary says how to add some)."""
    from lstm_mnist import web

    ck, folder = saved
    monkeypatch.chdir(tmp_path)  # no ./data here
    monkeypatch.delenv("MNIST_DIR", raising=False)
    with pytest.raises(SystemExit) as exit_:
        web.main([str(ck), "--out", "site", "--samples", "50"])
    assert exit_.value.code == 2 and "--samples 50: no MNIST test files found in ./data" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()
    assert web.main([str(ck), "--out", "site", "--digits", str(folder)]) == 0
    assert "3 digits to pick" in capsys.readouterr().out


def test_a_bad_data_folder_from_mnist_dir_says_it_came_from_there(tmp_path, saved, run_in_process, monkeypatch):
    """MNIST_DIR=r.pt: 'r.pt is not a folder' left a user who gave no --data-dir wondering why r.pt."""
    ck, _ = saved
    monkeypatch.setenv("MNIST_DIR", str(ck))
    result = run_in_process("evaluate.py", str(ck), "--device", "cpu")
    assert result.returncode == 1 and result.stderr == f"evaluate.py: error: {ck} (MNIST_DIR) is not a folder\n"
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "none"))
    result = run_in_process("evaluate.py", str(ck), "--device", "cpu")
    assert f"data folder {tmp_path / 'none'} (MNIST_DIR) does not exist" in result.stderr
    result = run_in_process("evaluate.py", str(ck), "--device", "cpu", "--data-dir", str(tmp_path / "other"))
    assert f"data folder {tmp_path / 'other'} does not exist" in result.stderr  # the flag's: no MNIST_DIR there


@pytest.mark.parametrize("program", ["evaluate.py", "web"])
def test_a_data_folder_given_as_the_flag_is_not_said_to_come_from_mnist_dir(program, tmp_path, saved, run_in_process,
                                                                            monkeypatch):
    """--data-dir X with MNIST_DIR=X also set: the flag wins, and 'data folder X (MNIST_DIR) does not exist'
    blamed the variable for what the command line said."""
    ck, _ = saved
    none = str(tmp_path / "none")
    monkeypatch.setenv("MNIST_DIR", none)
    if program == "web":
        from lstm_mnist import web

        from lstm_mnist.errors import DataError

        monkeypatch.chdir(tmp_path)
        with pytest.raises(DataError) as error:
            web.main([str(ck), "--out", "site", "--data-dir", none])
        err = str(error.value)
    else:
        err = run_in_process(program, str(ck), "--device", "cpu", "--data-dir", none).stderr
    assert f"data folder {none} does not exist" in err and "MNIST_DIR" not in err
