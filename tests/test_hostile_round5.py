"""Hostile inputs, fifth round: the web page's --out given as a symbolic link to a folder, as the current
folder or through '..'; names with a space at their end, and names of files that begin with '-'. Called
in-process where the command allows it (no torch import per case)."""

import os
import sys

import pytest

from lstm_mnist import web
from lstm_mnist.data import default_data_dir, find_files
from lstm_mnist.errors import DataError


def test_the_site_through_a_link_to_a_folder_is_built_in_that_folder_and_the_link_kept(tmp_path, saved, capsys,
                                                                                       monkeypatch):
    """A rename over the link replaced it with a folder, left the link aside as .NAME.old-PID (never removed:
    rmtree refuses a link) and the folder it points to as it was. Every other output through a link writes
    what it points to and keeps the link."""
    ck, _ = saved
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    os.symlink("real", tmp_path / "site")
    for flags in ([], ["--overwrite"]):  # made, then replaced
        assert web.main([str(ck), "--out", "site", *flags]) == 0
        assert "wrote site/" in capsys.readouterr().out
        assert (tmp_path / "site").is_symlink() and os.readlink(tmp_path / "site") == "real"
        assert (tmp_path / "real" / "index.html").is_file()
    assert sorted(os.listdir(tmp_path)) == ["ck.pt", "digits", "real", "site"]


@pytest.mark.parametrize("out", [".", "..", "sub/.."])
def test_the_current_folder_or_one_holding_it_is_no_site_folder(out, tmp_path, saved, capsys, monkeypatch):
    """--out . in an empty folder said '. is not empty' (the site's temporary was made in it) and exit 1;
    with --overwrite, a ValueError traceback ('PosixPath('.') has an empty name'). Built, the site would have
    replaced the current folder whole, leaving the shell in a removed one: a usage error, before any work."""
    ck, _ = saved
    monkeypatch.delenv("MNIST_DIR", raising=False)
    here = tmp_path / "empty"
    (here / "sub").mkdir(parents=True)
    monkeypatch.chdir(here)
    for flags in ([], ["--overwrite"]):
        with pytest.raises(SystemExit) as exit_:
            web.main([str(ck), "--out", out, *flags])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and "is the current folder" in err and "such as --out site" in err
        assert "Traceback" not in err and sorted(os.listdir(here)) == ["sub"]


def test_a_data_folder_above_the_mnist_files_names_the_folder_inside_that_holds_them(tmp_path, synthetic_dir, saved,
                                                                                     run_in_process, monkeypatch):
    """--data-dir ~/datasets (or MNIST_DIR) for ~/datasets/mnist: 'lacks ...; put the four MNIST IDX files there',
    when they are one folder down. The folder that holds them is named, in every program that reads MNIST."""
    ck, _ = saved
    above = tmp_path / "datasets"
    above.mkdir()
    (above / "notes").mkdir()
    os.symlink(synthetic_dir, above / "mnist")
    for script, args in (("train.py", ["--data-dir", str(above), "--out", str(tmp_path / "t.pt")]),
                         ("evaluate.py", [str(ck), "--data-dir", str(above)])):
        result = run_in_process(script, *args)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().endswith(f"{above / 'mnist'}, inside it, holds them: give that folder instead")
    monkeypatch.setenv("MNIST_DIR", str(above))
    with pytest.raises(DataError, match=r"\(MNIST_DIR\) lacks .*datasets/mnist, inside it, holds them"):
        find_files(default_data_dir())
    with pytest.raises(DataError, match=r"put the four MNIST IDX files there"):  # nothing inside holds them
        find_files(above / "notes")


@pytest.mark.parametrize("flags, named, alone", [(["--rounds", "3"], "--rounds:", (3, 10)),
                                                 (["--steps", "2"], "--steps:", (7, 2)),
                                                 (["--rounds", "3", "--steps", "2"], "--rounds and --steps:", (3, 2))])
def test_the_benchmark_refuses_rounds_or_steps_that_smoke_would_ignore(flags, named, alone, monkeypatch, capsys):
    """--smoke --rounds 3 ran 1 round of 1 step and said nothing: refused, as inspect_digit.py refuses
    the flags it would ignore; alone, each still sets what it says."""
    from lstm_mnist import bench

    monkeypatch.setattr(sys, "argv", ["bench", "--smoke", *flags])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    [line] = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2 and f"error: {named} --smoke runs 1 round of 1 step" in line
    asked = []

    def benchmark(device, batch_size, hidden_size, rounds, steps, **kwargs):  # what it would time, not timed
        asked.append((rounds, steps))
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "benchmark", benchmark)
    for argv, expected in ((["--smoke"], (1, 1)), ([], (bench.ROUNDS, bench.STEPS)), (flags, alone)):
        monkeypatch.setattr(sys, "argv", ["bench", "--device", "cpu", "--no-compile", *argv])
        with pytest.raises(KeyboardInterrupt):
            bench.main()
        assert asked.pop() == expected


@pytest.mark.parametrize("script, args, says", [
    ("evaluate.py", ["ck.pt "],
     "checkpoint ck.pt  not found (the name ends with white space; ck.pt, without it, exists)"),
    ("evaluate.py", ["ck.pt", "--data-dir", " mnist"],
     "data folder  mnist does not exist (the name begins with white space; mnist, without it, exists)"),
    ("evaluate.py", ["ck.pt", "--data-dir", " "], "data folder   does not exist (the name is only white space)"),
    ("predict.py", ["ck.pt", "digits\u00a0"],  # a no-break space, copied from a web page
     "digits\u00a0: no such file or folder (the name ends with white space; digits, without it, exists)"),
    ("inspect_digit.py", ["ck.pt", "--image", "digits/1.png "],
     "image digits/1.png  not found (the name ends with white space; digits/1.png, without it, exists)"),
    ("train.py", ["--out", "runs /run.pt"],
     "folder runs  does not exist (the name ends with white space; runs, without it, exists); create it first"),
    ("predict.py", ["ck.pt", ". "],  # '.' is no name Path.with_name takes: a ValueError traceback
     ". : no such file or folder (the name ends with white space; ., without it, exists)"),
    ("train.py", ["--out", " ./run.pt"], "folder  . does not exist (the name begins with white space; ., without it"),
])
@pytest.mark.usefixtures("saved")  # ck.pt and digits/ in tmp_path
def test_a_name_not_found_that_ends_with_a_space_says_so(script, args, says, tmp_path, run_in_process):
    """A space pasted with a name ('data '), or a no-break space, cannot be seen in 'data  does not exist':
    the message says the name ends (or begins) with white space, and names the name without it if it exists."""
    (tmp_path / "mnist").mkdir()
    (tmp_path / "runs").mkdir()
    result = run_in_process(script, *args, cwd=tmp_path)
    assert result.returncode in (1, 2) and says in result.stderr, result.stderr


@pytest.mark.parametrize("script, args, says", [
    ("evaluate.py", ["-ck.pt"], "the following arguments are required: checkpoint; -ck.pt begins with '-', so it "
                                "was read as a flag: write it as ./-ck.pt"),
    ("inspect_digit.py", ["ck.pt", "--image", "-7.png"], "argument --image: expected one argument; -7.png begins"),
    ("predict.py", ["ck.pt", "-digits"], "-digits begins with '-', so it was read as a flag: write it as ./-digits"),
])
def test_a_file_whose_name_begins_with_a_dash_is_named_with_the_way_to_give_it(script, args, says, saved, tmp_path,
                                                                              run_in_process):
    """argparse reads '-x.png' as a flag: 'expected one argument', or a required name missing, with no hint
    that the file was there. Where such a word names a file or folder, the usage error says to write ./-x.png."""
    ck, digits = saved
    (tmp_path / "-ck.pt").write_bytes(ck.read_bytes())
    (tmp_path / "-7.png").write_bytes(next(digits.glob("*.png")).read_bytes())
    (tmp_path / "-digits").mkdir()
    result = run_in_process(script, *args, cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert run_in_process("evaluate.py", "ck.pt", "--bogus", cwd=tmp_path).stderr.count("begins with '-'") == 0


@pytest.mark.parametrize("script, args", [
    ("predict.py", ["ck.pt", "--out", "-", "--overwrite", "--", "-digits"]),  # after '--': a name, as given
    ("evaluate.py", ["ck.pt", "--max-images", "-3"]),  # a negative number is a value, even where a file -3 exists
])
def test_a_word_read_as_a_value_gets_no_dash_hint(script, args, saved, tmp_path, run_in_process):
    """The hint that a word beginning with '-' 'was read as a flag' was added to every usage error, about words
    argparse had read as values: one after '--' and a negative number, where a file of that name exists."""
    (tmp_path / "-digits").mkdir()
    (tmp_path / "-3").touch()
    result = run_in_process(script, *args, cwd=tmp_path)
    assert result.returncode == 2 and "error: " in result.stderr and "begins with '-'" not in result.stderr


def test_the_site_refuses_a_device_as_a_device_not_as_a_file(saved, capsys):
    """--out /dev/null said 'is a file': it is a character device (and a FIFO or a socket are named as such)."""
    ck, _ = saved
    with pytest.raises(SystemExit) as exit_:
        web.main([str(ck), "--out", os.devnull])
    assert exit_.value.code == 2
    assert f"--out {os.devnull}: is a character device; give a folder" in capsys.readouterr().err
