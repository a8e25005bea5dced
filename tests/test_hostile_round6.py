"""Hostile inputs, sixth round: a README a script rewrites in place (write-protected, in a folder that cannot
be written). Called in-process where the command allows it (no torch import per case)."""

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

from lstm_mnist.cli import check_compiler, run

ROOT = Path(__file__).resolve().parent.parent


def load_script(name: str):
    """A script of scripts/ as a module, to call its main()."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_with_markers(folder: Path) -> Path:
    readme = folder / "README.md"
    readme.write_text("# notes\n<!-- bench:start -->\n<!-- bench:end -->\n<!-- results:start -->\n"
                      "<!-- results:end -->\n")
    return readme


def no_writing_in(folder: Path, monkeypatch) -> None:
    """Simulated (the tests run as root): no file can be made in ``folder``, as in a read-only one."""
    real_open = os.open

    def refused(path, *args, **kwargs):
        if Path(os.fsdecode(path)).parent == folder:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: refused(self, os.O_WRONLY))


@pytest.mark.parametrize("script, args", [
    ("bench_table", ["bench.json", "--readme", "README.md"]),
    ("make_results", ["--table-only", "--results", "results", "--readme", "README.md"])])
@pytest.mark.parametrize("refusal", ["write-protected", "read-only folder"])
def test_a_readme_a_script_cannot_replace_is_refused_before_any_work(script, args, refusal, tmp_path, monkeypatch,
                                                                     capsys):
    """A write-protected README (chmod a-w) was replaced all the same; one in a folder that cannot be
    written was refused at the end (after half an hour of training, for make_results.py) as
    '.README.md.k2j4x9qa.tmp: Permission denied', a temporary's name. Both are now usage errors before any work,
    as every other output that cannot be written (simulated: the tests run as root)."""
    shutil.copy(ROOT / "results" / "bench-cpu.json", tmp_path / "bench.json")
    shutil.copytree(ROOT / "results", tmp_path / "results", ignore=shutil.ignore_patterns("runs", "bench-*"))
    readme = readme_with_markers(tmp_path)
    before = readme.read_bytes()
    monkeypatch.chdir(tmp_path)
    real_access = os.access
    if refusal == "write-protected":
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: real_access(path, mode, **kw) and not (
            mode & os.W_OK and Path(path).absolute() == readme))
    else:
        no_writing_in(tmp_path, monkeypatch)
    module = load_script(script)
    monkeypatch.setattr(sys, "argv", [script, *args])
    status = run(module.main, f"scripts/{script}.py")
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith(f"scripts/{script}.py: error: --readme README.md: ") and ".tmp" not in err
    assert ("write-protected" if refusal == "write-protected" else "cannot write in") in err
    assert readme.read_bytes() == before


def test_a_results_folder_that_cannot_be_written_is_refused_before_any_training(tmp_path, monkeypatch, capsys):
    """make_results.py --results DIR in a folder that cannot be written said 'DIR/runs: Permission
    denied' (exit 1) once the MNIST files were read; a usage error now, as every output folder, before them."""
    results = tmp_path / "results"
    results.mkdir()
    no_writing_in(results, monkeypatch)
    module = load_script("make_results")
    monkeypatch.setattr(sys, "argv", ["make_results", "--presets", "best", "--seeds", "0", "--results", str(results),
                                      "--data-dir", str(tmp_path / "nowhere")])
    status = run(module.main, "scripts/make_results.py")
    err = capsys.readouterr().err
    assert status == 2 and "--results" in err and "cannot write in" in err and "nowhere" not in err, err


def test_a_write_that_fails_names_the_file_meant_not_its_temporary(tmp_path, monkeypatch):
    """Every file is first written as .NAME.XXXXXXXX.tmp beside it (files.atomic_write); a refusal there (a
    folder made read-only, a disk quota) said '.x.csv.k2j4x9qa.tmp: Permission denied', a name the user never
    gave. The file meant is named, in every writer (train.py's own message already did so)."""
    from lstm_mnist import files

    real_open = os.open

    def refused(path, *args, **kwargs):
        if Path(os.fsdecode(path)).name.endswith(".tmp"):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError) as error:
        files.atomic_write(tmp_path / "x.csv", lambda f: f.write(b"1\n"))
    assert files.described(error.value).startswith(f"{tmp_path / 'x.csv'}: Permission denied")
    monkeypatch.setattr(os, "open", real_open)

    def full(f):
        raise OSError(28, "No space left on device")  # as a write to a full disk raises it: naming no file

    with pytest.raises(OSError) as error:
        files.atomic_write(tmp_path / "y.csv", full)
    assert files.described(error.value) == f"{tmp_path / 'y.csv'}: No space left on device"
    assert os.listdir(tmp_path) == []
    (tmp_path / "z.csv").mkdir()  # the rename fails, naming the temporary and the target: the target once
    with pytest.raises(OSError) as error:
        files.atomic_write(tmp_path / "z.csv", lambda f: f.write(b"1\n"))
    assert files.described(error.value) == f"{tmp_path / 'z.csv'}: Is a directory"


def test_a_checkpoint_whose_compressed_parts_claim_too_much_is_refused_before_unpacking(tmp_path, saved, monkeypatch,
                                                                                       run_in_process):
    """torch.save stores its parts uncompressed, but torch.load unpacks deflated ones too: a 5 MB file claiming a
    1 GiB tensor took 1.5 GB of memory before it was refused, and one claiming 20 GiB was killed by the system
    with no word. Refused from the zip's own list of sizes, as an image or IDX file that claims too much (the
    limit made small here: a real bomb takes seconds to make)."""
    import zipfile

    from lstm_mnist import checkpoint as ckpt

    ck, _ = saved
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(ck) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as packed:
        for part in source.infolist():
            packed.writestr(part.filename, source.read(part.filename))
        packed.writestr("archive/data/99", bytes(2**20))  # 1 MiB of zeros: 1 KB packed
    monkeypatch.setattr(ckpt, "MAX_UNPACKED", 2**20)
    monkeypatch.setattr(ckpt.torch, "load", lambda *a, **kw: pytest.fail("torch.load was called"))
    result = run_in_process("evaluate.py", str(bomb))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    claim = re.search(r"bomb\.pt: its compressed parts claim ([\d,]+) bytes unpacked, more than the 1,048,576 this "
                      r"reader accepts", result.stderr)
    assert claim and int(claim[1].replace(",", "")) > 2**20, result.stderr  # exact: never 'claim 1.0, more than 1.0'

    monkeypatch.undo()
    packed_small = tmp_path / "small.pt"  # compressed, within the limit: it loads, as torch.load reads it
    with zipfile.ZipFile(ck) as source, zipfile.ZipFile(packed_small, "w", zipfile.ZIP_DEFLATED) as packed:
        for part in source.infolist():
            packed.writestr(part.filename, source.read(part.filename))
    assert ckpt.load(packed_small)["format"] == ckpt.FORMAT


@pytest.mark.parametrize("cxx", ["/nowhere/g++", "", None])
def test_compile_without_the_compiler_torch_runs_is_one_line_before_any_work(cxx, tmp_path, synthetic_dir,
                                                                             monkeypatch, run_in_process, capsys):
    """torch.compile's C++ code is built by $CXX alone (g++ where it is unset): train.py --compile looked for c++ and
    clang++ too, passed its check where either was there, and ended at its first step in an InductorError's
    traceback (CXX=/nowhere/g++, or no g++); the benchmark's compiled variant did so minutes into its run. Both
    now say which compiler is missing, and the way out, before any work (exit 1: the machine's, not the flags')."""
    from lstm_mnist import bench

    if cxx is None:
        monkeypatch.delenv("CXX", raising=False)
        real_which = shutil.which
        monkeypatch.setattr(shutil, "which", lambda name, *a, **kw: None if name == "g++" else real_which(name, *a,
                                                                                                       **kw))
    else:
        monkeypatch.setenv("CXX", cxx)
    result = run_in_process("train.py", "--compile", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "c.pt"))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    named = "g++" if cxx is None else f"CXX={cxx!r}"
    assert f"--compile needs a C++ compiler for torch.compile on a CPU: {named}" in result.stderr
    assert result.stderr.rstrip().endswith("or train without --compile") and "data:" not in result.stdout
    monkeypatch.setattr(sys, "argv", ["bench", "--device", "cpu", "--rounds", "1"])
    assert run(bench.main, "python -m lstm_mnist.bench") == 1
    err = capsys.readouterr().err
    assert f"the compiled variant needs a C++ compiler for torch.compile on a CPU: {named}" in err
    assert "--no-compile" in err
    check_compiler("--compile", "train without --compile", [torch.device("cuda")])  # CUDA: Triton's kernels, no C++


def test_compile_failing_in_training_is_one_line(tmp_path, synthetic_dir, monkeypatch, run_in_process):
    """What the check before cannot foresee (a compiler that fails on the generated code, a cache that cannot be
    written) ended in torch.compile's traceback; now one line, with the way out."""
    import torch

    class InductorError(RuntimeError):
        pass

    InductorError.__module__ = "torch._inductor.exc"

    def broken(function, **kwargs):
        def call(*args, **kw):
            raise InductorError("CppCompileError: C++ compile error\n\nCommand:\ng++ x.cpp\n\nOutput:\nx.cpp:1: boom")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    result = run_in_process("train.py", "--compile", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "c.pt"),
                            "--epochs", "1", "--limit-train", "64", "--no-figure")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == ("train.py: error: --compile: torch.compile failed (CppCompileError: C++ "
                                              "compile error ... x.cpp:1: boom); train without --compile")


@pytest.fixture
def tilde_home(tmp_path, monkeypatch):
    """A HOME holding a checkpoint, an image and a folder; the commands run in an empty folder beside it."""
    home = tmp_path / "home"
    (home / "digits").mkdir(parents=True)
    (tmp_path / "here").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path / "here")
    return home


def test_a_tilde_no_shell_expanded_names_the_path_meant_in_every_path(tilde_home, saved, run_in_process,
                                                                      monkeypatch, capsys):
    """bash expands '~' only at the start of a word: --out=~/p.csv (and a quoted '~/x.pt') reaches the program as
    it is. 'checkpoint ~/ck.pt not found', and for an output 'folder ~ does not exist; create it first', an
    invitation to make a folder named '~' (which a later 'rm -rf ~' turns into a disaster). Every path, input or
    output, now names the path meant, as MNIST_DIR's did."""
    from lstm_mnist import web

    ck, digits = saved
    shutil.copy(ck, tilde_home / "ck.pt")
    meant = f"the path meant is {tilde_home}"
    cases = [("evaluate.py", ["~/ck.pt"], 1, f"{meant}/ck.pt)"),
             ("evaluate.py", ["~/gone.pt"], 1, f"{meant}/gone.pt, which does not exist either)"),
             ("predict.py", [str(ck), "~/digits"], 1, f"{meant}/digits)"),
             ("predict.py", [str(ck), str(digits), "--out=~/p.csv"], 2, f"{meant}/p.csv)"),
             ("inspect_digit.py", [str(ck), "--image=~/0.png", "--no-figure"], 1, f"{meant}/0.png, which"),
             ("train.py", ["--data-dir=~/mnist"], 1, f"{meant}/mnist, which does not exist either)"),
             ("train.py", ["--resume=~/ck.pt"], 1, f"{meant}/ck.pt)"),
             ("evaluate.py", [str(ck), "--plots=~/plots"], 2, f"{meant}/plots)")]
    for script, args, status, said in cases:
        result = run_in_process(script, *args)
        assert result.returncode == status and len(result.stderr.splitlines()) == 1, result.stderr
        assert "a '~' there is taken as it is" in result.stderr and said in result.stderr, result.stderr
        assert "create it first" not in result.stderr
    with pytest.raises(SystemExit):
        web.main([str(ck), "--out=~/site"])
    err = capsys.readouterr().err
    assert f"{meant}/site)" in err and "create it first" not in err
    assert os.listdir(".") == []


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard-links", "no-hard-links (FAT)"])
def test_a_write_without_overwrite_keeps_a_file_another_run_wrote_meanwhile(tmp_path, monkeypatch, hard_links):
    """Two runs of predict.py --out p.csv (no --overwrite) at once both passed the check before their work, and
    the last to finish replaced the first one's file without a word. The write itself now refuses to replace."""
    from lstm_mnist.files import atomic_write

    if not hard_links:
        def no_links(*args):
            raise PermissionError(1, "Operation not permitted")
        monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "p.csv"
    atomic_write(target, lambda f: f.write(b"mine"), replace=False)  # nothing there: written
    assert target.read_bytes() == b"mine"
    with pytest.raises(FileExistsError) as refused:
        atomic_write(target, lambda f: f.write(b"theirs"), replace=False)
    assert str(refused.value.filename) == str(target) and "run again with --overwrite" in refused.value.strerror
    assert target.read_bytes() == b"mine" and sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]
    atomic_write(target, lambda f: f.write(b"theirs"))  # --overwrite: replaced
    assert target.read_bytes() == b"theirs"
