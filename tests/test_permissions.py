"""A shared classroom machine: students are ordinary users, and files or folders may be closed to
them (chmod 000, a folder without x or r, a teacher's read-only clone, a shared sticky folder such
as /tmp). Every such case ends before any work in one plain line that names the file and the way
out, with the right exit status: never '[Errno 13] Permission denied: ...', never a traceback.

The tests run as root in CI, and root enters, lists and writes every folder: so the kernel's
refusals are simulated (``closed``, ``unlistable``) by making os.stat, os.open, os.listdir and the
like raise what they raise for a student; the cases that need a real ordinary user are skipped,
with the reason, when running as root."""

import errno
import os
import pathlib
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import synthetic_digits
from lstm_mnist import LSTMClassifier, cli, data, files
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.checkpoint import Progress
from lstm_mnist.config import TrainConfig
from lstm_mnist.errors import DataError

LOOKUPS = ("stat", "lstat", "open", "access")  # what looking at or opening a name calls
LISTINGS = ("listdir", "scandir")


def _as_path(path):
    try:
        return os.path.abspath(os.fsdecode(path))
    except TypeError:  # a file descriptor
        return None


@pytest.fixture
def refused(monkeypatch):
    """``refused.closed(folder)``: every name inside ``folder`` is refused as in a folder without x
    permission (the folder itself can still be looked at); ``refused.unlistable(folder)``: listing
    ``folder`` is refused, as without r permission."""
    closed, unlistable = [], []
    real = {name: getattr(os, name) for name in LOOKUPS + LISTINGS}

    def guard(name):
        def call(path=".", *args, **kwargs):
            where = _as_path(path)
            inside = where is not None and any(where.startswith(f + os.sep) for f in closed)
            listed = name in LISTINGS and where is not None and where in closed + unlistable
            if inside or listed:
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, guard(name))
        if hasattr(pathlib, "_NormalAccessor") and hasattr(pathlib._NormalAccessor, name):  # Python 3.10
            monkeypatch.setattr(pathlib._NormalAccessor, name, staticmethod(guard(name)))

    class Refused:
        @staticmethod
        def closed(folder):
            closed.append(os.path.abspath(folder))

        @staticmethod
        def unlistable(folder):
            unlistable.append(os.path.abspath(folder))

    return Refused


@pytest.fixture
def saved(tmp_path):
    """A small checkpoint that can be resumed, and a folder of three digit images."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 28, 28)).sum().backward()
    optimizer.step()
    path = tmp_path / "ck.pt"
    ckpt.save(path, ckpt.make(model, optimizer, TrainConfig(epochs=2), Progress(epoch=1),
                              [{"event": "epoch", "epoch": 1}], None))
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(synthetic_digits(3, np.random.default_rng(0))[0]):
        Image.fromarray(image).save(folder / f"{i}.png")
    return path, folder


def one_line(result, prog, status=1):
    assert result.returncode == status, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"{prog}: error: "), result.stderr
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr


# --- reading: a data folder, an image folder, a file in a folder closed to the user -------------------


def test_a_data_folder_closed_to_the_user_says_so_and_what_to_do(tmp_path, saved, synthetic_dir, refused,
                                                                  run_in_process):
    """Before: 'evaluate.py: error: [Errno 13] Permission denied: 'm1/t10k-images-idx3-ubyte''."""
    refused.closed(synthetic_dir)
    err = one_line(run_in_process("evaluate.py", str(saved[0]), "--data-dir", str(synthetic_dir)), "evaluate.py")
    assert f"data folder {synthetic_dir}: cannot look inside it (Permission denied)" in err
    assert "copy it into a folder of yours and pass --data-dir there" in err


def test_a_closed_data_folder_in_the_current_folder_is_not_downloaded_into(tmp_path, saved, refused, run_in_process):
    (tmp_path / "data").mkdir()
    refused.closed(tmp_path / "data")
    err = one_line(run_in_process("evaluate.py", str(saved[0]), cwd=tmp_path), "evaluate.py")
    assert "data folder data: cannot look inside it (Permission denied)" in err and "download" not in err


def test_no_data_and_a_current_folder_the_user_cannot_write(tmp_path, monkeypatch):
    """Before: '[Errno 13] Permission denied: 'data'' (the mkdir of ./data was outside the one-line
    report of a failed download)."""
    def no_mkdir(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pathlib.Path, "mkdir", no_mkdir)
    with pytest.raises(DataError) as caught:
        data.locate(None, pathlib.Path("data"))
    message = str(caught.value)
    assert "the download failed (data: Permission denied)" in message and "--data-dir FOLDER" in message
    assert "Errno" not in message and not (tmp_path / "data").exists()


def test_an_image_folder_that_cannot_be_listed(saved, refused, run_in_process):
    """Before: 'predict.py: error: [Errno 13] Permission denied: 'd1''."""
    ck, folder = saved
    refused.unlistable(folder)
    err = one_line(run_in_process("predict.py", str(ck), str(folder), "--out", "-"), "predict.py")
    assert f"{folder}: cannot list the images in it (Permission denied)" in err


@pytest.mark.parametrize("program", ["predict.py", "inspect_digit.py"])
def test_an_image_in_a_folder_closed_to_the_user_is_not_said_missing(saved, refused, run_in_process, program):
    """Before: 'image nx/test-7.png not found' and 'nx/test-7.png: no such file or folder': it is there."""
    ck, folder = saved
    refused.closed(folder)
    image = str(folder / "0.png")
    flags = ["--out", "-"] if program == "predict.py" else ["--image", image, "--no-figure"]
    result = run_in_process(program, str(ck), *([image] if program == "predict.py" else []), *flags)
    err = one_line(result, program)
    assert f"{image}: cannot be reached (Permission denied: a folder on its way is closed to you)" in err


def test_an_unforeseen_os_error_is_one_plain_line(capsys):
    def fails():
        raise PermissionError(errno.EACCES, "Permission denied", "nx/t.pt")

    assert cli.run(fails, "train.py") == 1
    assert capsys.readouterr().err == ("train.py: error: nx/t.pt: Permission denied; check its permissions, or use "
                                       "a file or folder of yours\n")
