"""Hostile inputs, fourth round: symbolic links in a loop and paths too long wherever a path is given,
checkpoints damaged midway or that are zip archives of something else. Called
in-process where the command allows it (no torch import per case)."""

import os
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from lstm_mnist import checkpoint as ckpt, cli, web
from lstm_mnist.errors import CheckpointError


@pytest.fixture
def loop(tmp_path) -> Path:
    """A symbolic link in a loop: loop -> back -> loop (opening it: 'Too many levels of symbolic links')."""
    os.symlink("back", tmp_path / "loop")
    os.symlink("loop", tmp_path / "back")
    return tmp_path / "loop"


def test_a_link_in_a_loop_is_one_line_wherever_a_path_is_given(tmp_path, saved, synthetic_dir, loop, run_in_process,
                                                               capsys):
    """Path.resolve raises RuntimeError('Symlink loop') before Python 3.13: predict.py, inspect_digit.py,
    train.py and the web page ended in its traceback for a checkpoint, an image or an output named by
    such a link. An input is one line (exit 1), an output a usage error (exit 2), before any work."""
    checkpoint, digits = saved
    image = next(digits.iterdir())
    for program, args, status in [
            ("predict.py", [loop, digits], 1), ("predict.py", [checkpoint, loop], 1),
            ("inspect_digit.py", [loop, "--image", image], 1), ("inspect_digit.py", [checkpoint, "--image", loop], 1),
            ("predict.py", [checkpoint, digits, "--out", loop], 2),
            ("inspect_digit.py", [checkpoint, "--image", image, "--figure", loop], 2),
            ("inspect_digit.py", [checkpoint, "--image", image, "--animation", loop], 2),
            ("evaluate.py", [checkpoint, "--plots", loop, "--data-dir", synthetic_dir], 2),
            ("train.py", ["--out", loop, "--data-dir", synthetic_dir], 2),
            ("train.py", ["--out", loop / "run.pt", "--data-dir", synthetic_dir], 2),
            ("train.py", ["--resume", checkpoint, "--out", loop, "--data-dir", synthetic_dir], 2)]:
        result = run_in_process(program, *map(str, args), cwd=tmp_path)
        assert result.returncode == status and "Traceback" not in result.stderr, (program, args, result.stderr)
        assert "Too many levels of symbolic links" in result.stderr and len(result.stderr.splitlines()) == 1, \
            result.stderr
    assert os.readlink(loop) == "back"  # the link stands: nothing was written over it
    for program, args in [("predict.py", [checkpoint, loop / "0.png"]), ("inspect_digit.py", [checkpoint, "--image",
                                                                                             loop / "0.png"])]:
        result = run_in_process(program, *map(str, args), cwd=tmp_path)  # said 'not found', 'no such file'
        assert result.returncode == 1 and "cannot be reached (Too many levels of symbolic links)" in result.stderr
    for args in ([checkpoint, "--out", loop], [loop, "--out", tmp_path / "site"]):
        assert cli.run(lambda: web.main(list(map(str, args))), "web") in (1, 2)
        assert "Too many levels of symbolic links" in capsys.readouterr().err


def test_a_path_longer_than_the_system_takes_is_named_for_what_it_is(tmp_path, saved, synthetic_dir, run_in_process):
    """A path of over 4096 bytes (PATH_MAX) was an input 'not found', and an output an OSError (exit 1,
    no flag named) instead of a usage error."""
    checkpoint, digits = saved
    (tmp_path / "d").mkdir()
    far = Path("d/../" * 1100)  # the current folder, spelled in 5,500 bytes
    image = far / digits.name / next(digits.iterdir()).name
    for program, args, status, said in [
            ("inspect_digit.py", [checkpoint, "--image", image], 1, "cannot be reached (File name too long)"),
            ("predict.py", [checkpoint, image], 1, "cannot be reached (File name too long)"),
            ("predict.py", [checkpoint, digits, "--out", far / "p.csv"], 2, "--out d/../d"),
            ("evaluate.py", [checkpoint, "--plots", far / "plots", "--data-dir", synthetic_dir], 2, "--plots d/../d"),
            ("train.py", ["--out", far / "run.pt", "--data-dir", synthetic_dir], 2, "--out d/../d")]:
        result = run_in_process(program, *map(str, args), cwd=tmp_path)
        assert result.returncode == status and said in result.stderr, (program, result.stderr[-300:])
        assert len(result.stderr.splitlines()) == 1 and "File name too long" in result.stderr


def test_a_checkpoint_damaged_midway_is_refused_not_read_as_other_weights(tmp_path, saved):
    """torch.load never checks the CRC-32 that torch.save stores with each part of its zip archive: a byte
    changed in the middle of the weights (a bad copy, a failing disk) loaded, as a model with other weights."""
    path = saved[0]
    with zipfile.ZipFile(path) as archive:
        part = max(archive.infolist(), key=lambda p: p.file_size)  # the largest tensor's bytes
    content = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", content[part.header_offset + 26 : part.header_offset + 30])
    start = part.header_offset + 30 + name_length + extra_length  # where its bytes begin (after the local header)
    content[start + part.file_size // 2] ^= 0x40
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(content))
    with pytest.raises(CheckpointError, match=f"damaged: its part {part.filename} does not match the checksum"):
        ckpt.load(damaged)
    ckpt.load(path)  # the original still loads


def test_a_checkpoint_saved_without_checksums_loads(tmp_path, saved):
    """torch.serialization.set_crc32_options(False) (a faster torch.save, PyTorch 2.6 and later) stores 0 as every
    part's CRC-32: there is nothing to compare, yet such a checkpoint was refused as damaged by a failing disk."""
    if not hasattr(torch.serialization, "set_crc32_options"):
        pytest.skip("this PyTorch always stores the CRC-32s")
    before = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(torch.load(saved[0], weights_only=True), tmp_path / "no-crc.pt")
    finally:
        torch.serialization.set_crc32_options(before)
    with zipfile.ZipFile(tmp_path / "no-crc.pt") as archive:
        assert all(part.CRC == 0 for part in archive.infolist())
    assert ckpt.load(tmp_path / "no-crc.pt")["format"] == ckpt.load(saved[0])["format"]


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # TorchScript is deprecated: still what some export
def test_a_zip_archive_that_is_not_a_checkpoint_is_named_for_what_it_is(tmp_path, saved):
    """Both were 'a damaged or truncated zip archive': a user would fetch the file again, to the same end."""
    script = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    zipped = tmp_path / "ck.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(saved[0], "ck.pt")
    for path, words in [(script, "a TorchScript model (torch.jit.save)"),
                        (zipped, "a zip archive of other files (ck.pt), not one torch.save writes; unzip it first?")]:
        with pytest.raises(CheckpointError, match=r"not a readable checkpoint \(") as error:
            ckpt.load(path)
        assert words in str(error.value)


@pytest.mark.parametrize("existed", [False, True])
def test_ctrl_c_while_the_plots_are_drawn_leaves_no_empty_folder_behind(existed, tmp_path, monkeypatch):
    """evaluate.py --plots DIR interrupted while it drew its first figure left an empty DIR it had made;
    a folder that was there before stays."""
    from lstm_mnist import figures
    from lstm_mnist.commands import evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "confusion_matrix", interrupted)
    folder = tmp_path / "plots"
    if existed:
        folder.mkdir()
    with pytest.raises(KeyboardInterrupt):
        evaluate.draw_plots(None, None, {"confusion_matrix": [[1]]}, folder, None, 10, "test")
    assert folder.exists() is existed
