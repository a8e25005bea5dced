"""Inputs nobody planned for (issue 14): huge images and gzip bombs, checkpoints that load but do
not add up, special files, numbers past what the tensors hold, paths taken as patterns, output
paths found bad only after the work, text that cannot be encoded, CSV injection. Every command
is called in-process (no torch import per case): one line, the right exit status, no traceback."""

import csv
import dataclasses
import gzip
import io
import os
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from contextlib import contextmanager
from dataclasses import fields

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, idx_bytes, synthetic_digits
from lstm_mnist import LSTMClassifier, ModelConfig
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import cli
from lstm_mnist import data, files
from lstm_mnist.cli import MAX_SEED, check_output_folder, check_output_path, class_names
from lstm_mnist.model import count_parameters
from lstm_mnist.commands import evaluate, inspect_digit, predict, train
from lstm_mnist.errors import CheckpointError, DataError, LSTMMnistError
from lstm_mnist.files import atomic_write, remove_stale_temporaries
from lstm_mnist.images import load_image
from lstm_mnist.checkpoint import Progress
from lstm_mnist.config import TrainConfig


def command(module, *args, monkeypatch, capsys):
    """Run a command as its console script would; (status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", [module.__name__.rsplit(".", 1)[1] + ".py", *map(str, args)])
    try:
        status = module.command()
    except SystemExit as e:  # argparse's usage errors
        status = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def error_lines(err, prog):
    lines = err.strip().splitlines()
    assert lines and all(line.startswith(f"{prog}: error: ") for line in lines), err
    return lines


@contextmanager
def deadline(seconds):
    """Fail instead of hanging (a FIFO opened for reading waits for a writer forever)."""
    def expired(*_):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def full_checkpoint(hidden_size=8, class_names=None) -> dict:
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=hidden_size)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 28, 28)).sum().backward()
    optimizer.step()  # after an epoch, Adam holds moments for every parameter
    return ckpt.make(model, optimizer, TrainConfig(), Progress(epoch=1),
                     [{"event": "epoch", "epoch": 1}], class_names)


@pytest.fixture
def saved(tmp_path):
    """A small valid checkpoint on disk, and a folder of three digit images."""
    path = tmp_path / "ck.pt"
    ckpt.save(path, full_checkpoint())
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(synthetic_digits(3, np.random.default_rng(0))[0]):
        Image.fromarray(image).save(folder / f"{i}.png")
    return path, folder


# --- 1. images and IDX files that claim to be huge ----------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's header)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    raw = bytearray(buffer.getvalue())
    raw[16:24] = struct.pack(">II", width, height)  # IHDR's width and height
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))  # IHDR's CRC, recomputed
    return bytes(raw)


@pytest.mark.parametrize("width, height", [(20000, 20000), (10000, 10000), (8000, 8000)])
def test_an_image_claiming_too_many_pixels_is_refused_from_its_header(tmp_path, width, height, saved,
                                                                     monkeypatch, capsys):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    tracemalloc.start()
    with pytest.raises(LSTMMnistError, match=r"bomb.png: claims .* pixels, more than the 40 million") as error:
        load_image(path)
    assert tracemalloc.get_traced_memory()[1] < 20e6  # nothing of the claimed size was allocated
    tracemalloc.stop()
    assert "\n" not in str(error.value)
    ck, _ = saved
    status, _, err = command(inspect_digit, ck, "--image", path, "--no-figure", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 1 and len(error_lines(err, "inspect_digit.py")) == 1 and "claims" in err


def test_a_gzip_idx_bomb_is_refused_from_its_header_and_never_decompressed_whole(tmp_path):
    claims = tmp_path / "claims.gz"  # a header announcing 78 GB
    claims.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 10**8, 28, 28) + b"\0" * 1000))
    with pytest.raises(DataError, match=r"claims.gz: its header claims dimensions \(100000000, 28, 28\), "
                                        r"78,400,000,000 bytes"):
        data.read_images(claims)

    trailing = tmp_path / "trailing.gz"  # an honest header, then 256 MB of zeros
    compressor = zlib.compressobj(1, wbits=31)
    parts = [compressor.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))]
    parts += [compressor.compress(bytes(2**20)) for _ in range(256)]
    trailing.write_bytes(b"".join(parts) + compressor.flush())
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(DataError, match="trailing.gz: has trailing bytes"):
        data.read_images(trailing)
    assert tracemalloc.get_traced_memory()[1] < 20e6 and time.perf_counter() - started < 1.0
    tracemalloc.stop()


# --- 2. checkpoints that load but do not add up ------------------------------------------


def edited(checkpoint: dict, change) -> dict:
    change(checkpoint)
    return checkpoint


def three_class_head(c):
    model = LSTMClassifier(hidden_size=8, num_classes=3)
    c["model_config"]["num_classes"], c["model"] = 3, model.state_dict()


BROKEN = {
    "3 names for 10 classes": (lambda c: c.update(class_names=["a", "b", "c"]),
                               "class_names has 3 names for a model of 10 classes"),
    "3 names, as version 0.2 kept them": (lambda c: c["train_config"].update(class_names=["a", "b", "c"]),
                                          "train_config.class_names has 3 names for a model of 10 classes"),
    "input_size 14, weights for 28": (lambda c: c["model_config"].update(input_size=14), "input_size is 14, expected 28"),
    "input_size 14 throughout": (lambda c: c.update(model_config=c["model_config"] | {"input_size": 14},
                                                    model=LSTMClassifier(hidden_size=8, input_size=14).state_dict()),
                                 "input_size is 14, expected 28"),
    "a 3-class head": (three_class_head, "num_classes is 3, expected 10"),
    "train_config a string": (lambda c: c.update(train_config="lr=0.1"), "train_config is a str, expected a dict"),
    "hidden_size a string": (lambda c: c["model_config"].update(hidden_size="8"), "hidden_size is '8'"),
    "hidden_size a bool": (lambda c: c["model_config"].update(hidden_size=True), "hidden_size is True"),
    "hidden_size past any model": (lambda c: c["model_config"].update(hidden_size=2**40),  # would overflow sizes
                                   "hidden_size is 1099511627776, expected a whole number from 1 to 1,048,576"),
    "an unknown cell": (lambda c: c["model_config"].update(cell="lstm2"), "cell is 'lstm2', expected one of"),
    "weights of another size": (lambda c: c.update(model=LSTMClassifier(hidden_size=16).state_dict()),
                                "weights do not fit .* has shape \\(64, 28\\), the config needs \\(32, 28\\)"),
    "a weight missing": (lambda c: c["model"].pop("head.bias"), "head.bias is missing"),
    "a weight not a tensor": (lambda c: c["model"].update({"head.bias": [0.0] * 10}), "head.bias is not a floating"),
    "progress a list": (lambda c: c.update(progress=[1, 0]), "progress is a list, expected a dict"),
    "epoch negative": (lambda c: c["progress"].update(epoch=-1), "progress.epoch is -1"),
    "lr infinite": (lambda c: c["train_config"].update(lr=float("inf")), "train_config.lr is inf"),
    "seed too large": (lambda c: c["train_config"].update(seed=10**15), "train_config.seed is 1000000000000000"),
    "names repeated": (lambda c: c.update(class_names=["a"] * 10), "names a class twice: a"),
    "validation_size 0": (lambda c: c["train_config"].update(validation_size=0), "validation_size is 0"),
    "optimizer a list": (lambda c: c.update(optimizer=[]), "optimizer is a list, expected a dict"),
    "model_config missing": (lambda c: c.pop("model_config"), "'model_config' is missing"),
    "a name with a terminal escape": (lambda c: c.update(class_names=[*"abcdefghi", "\x1b[31mred"]),
                                      "class_names: name 9 holds a control character"),
    "a name with a line break": (lambda c: c.update(class_names=["a\nb", *"bcdefghij"]),
                                 "class_names: name 0 holds a control character"),
    "a name too long": (lambda c: c.update(class_names=[*"abcdefghi", "x" * 41]), "name 9 is 41 characters long"),
    "lr past what Adam takes": (lambda c: c["train_config"].update(lr=4e37), r"train_config.lr is 4e\+37"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_checkpoint_that_does_not_add_up_is_refused_with_one_line_per_problem(tmp_path, case):
    change, message = BROKEN[case]
    path = tmp_path / "edited.pt"
    torch.save(edited(full_checkpoint(), change), path)  # as someone editing a real one would
    with pytest.raises(CheckpointError, match=message) as error:
        ckpt.load(path)
    assert all(line.startswith(f"{path}: ") for line in str(error.value).splitlines())


def test_each_problem_is_its_own_line_and_the_commands_exit_1(tmp_path, saved, monkeypatch, capsys):
    path = tmp_path / "edited.pt"
    torch.save(edited(full_checkpoint(), lambda c: (c["model_config"].update(forget_bias="x"),
                                                    c.update(train_config="?", rng=5))), path)
    _, folder = saved
    for module, args in [(evaluate, [path]), (predict, [path, folder, "--out", tmp_path / "p.csv"]),
                         (inspect_digit, [path, "--image", folder / "0.png", "--no-figure"])]:
        status, out, err = command(module, *args, monkeypatch=monkeypatch, capsys=capsys)
        prog = module.__name__.rsplit(".", 1)[1] + ".py"
        lines = error_lines(err, prog)
        assert status == 1 and len(lines) == 3, err
        assert "forget_bias is 'x'" in lines[0] and "train_config is a str" in lines[1] and "rng is a int" in lines[2]
    assert not (tmp_path / "p.csv").exists()


def test_predict_never_writes_a_malformed_csv(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    three = tmp_path / "three.pt"
    torch.save(edited(ckpt.load(ck), lambda c: c.update(class_names=("a", "b", "c"))), three)
    status, _, err = command(predict, three, folder, "--out", tmp_path / "p.csv", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 1 and "3 names for a model of 10 classes" in err and not (tmp_path / "p.csv").exists()


def test_a_weights_only_checkpoint_evaluates_and_predicts_but_says_why_it_cannot_resume(tmp_path, saved, monkeypatch,
                                                                                       capsys):
    ck, folder = saved
    slim = tmp_path / "slim.pt"
    full = ckpt.load(ck)
    torch.save({k: v for k, v in full.items() if k not in ("optimizer", "rng", "progress", "metrics")}, slim)
    model, checkpoint = ckpt.load_model(slim)
    assert torch.equal(model.head.weight, full["model"]["head.weight"])
    status, out, err = command(predict, slim, folder, "--out", tmp_path / "p.csv", monkeypatch=monkeypatch,
                               capsys=capsys)
    assert status == 0, err
    assert len(list(csv.reader((tmp_path / "p.csv").open()))) == 4
    with pytest.raises(CheckpointError, match=r"slim.pt: cannot be resumed: it holds the weights only "
                                              r"\(no progress, optimizer, rng\); it still evaluates and predicts"):
        ckpt.check_resumable(checkpoint, slim)
    ckpt.check_resumable(full, ck)  # a full one can


def test_fields_of_a_newer_version_are_ignored_for_use_and_refused_for_resume(tmp_path):
    path = tmp_path / "newer.pt"
    torch.save(edited(full_checkpoint(), lambda c: (c["train_config"].update(warmup_steps=100),
                                                    c["progress"].update(tokens=5), c.update(ema={"decay": 0.9}))),
               path)
    checkpoint = ckpt.load(path)  # evaluate, predict and inspect use it
    ckpt.build_model(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"cannot be resumed by this lstm-mnist: its train_config has fields "
                                              r"it does not know \(warmup_steps\), written by a newer version"):
        ckpt.check_resumable(checkpoint, path)


def test_an_optimizer_state_that_does_not_fit_cannot_be_resumed(tmp_path):
    other = full_checkpoint(hidden_size=16)
    checkpoint = full_checkpoint()
    model = LSTMClassifier(hidden_size=16)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 28, 28)).sum().backward()
    optimizer.step()  # Adam's moments, for 16 units
    checkpoint["optimizer"] = optimizer.state_dict()
    with pytest.raises(CheckpointError, match="exp_avg of parameter 0 does not fit"):
        ckpt.check_resumable(checkpoint, "x.pt")
    checkpoint["optimizer"]["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(CheckpointError, match="holds 2 parameters, the model has 6"):
        ckpt.check_resumable(checkpoint, "x.pt")
    ckpt.check_resumable(other, "y.pt")


def test_the_schema_names_every_field_of_the_configs():
    assert set(ckpt.MODEL_SCHEMA) == {f.name for f in fields(ModelConfig)}
    assert set(ckpt.TRAIN_SCHEMA) == {f.name for f in fields(TrainConfig)}
    assert set(ckpt.PROGRESS_SCHEMA) == {f.name for f in fields(Progress)}


# --- 3. special files ----------------------------------------------------------------------


def test_a_fifo_or_a_device_is_refused_at_once_wherever_a_file_is_read(tmp_path, saved, monkeypatch, capsys):
    fifo = tmp_path / "f.pt"
    os.mkfifo(fifo)
    with deadline(10):
        for read, error in [(ckpt.load, CheckpointError), (load_image, LSTMMnistError), (data.read_idx, DataError)]:
            with pytest.raises(error, match=r"f.pt is a FIFO \(named pipe\), not a regular file"):
                read(fifo)
        with pytest.raises(CheckpointError, match="is a character device, not a regular file"):
            ckpt.load("/dev/zero")
        status, _, err = command(evaluate, fifo, monkeypatch=monkeypatch, capsys=capsys)
        assert status == 1 and "FIFO" in err
        ck, _ = saved
        status, _, err = command(inspect_digit, ck, "--image", fifo, "--no-figure", monkeypatch=monkeypatch,
                                 capsys=capsys)
        assert status == 1 and "FIFO" in err and len(error_lines(err, "inspect_digit.py")) == 1


# --- 4. numbers past what the tensors hold -------------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--lr", "4e37"], "--lr: must be from 1e-30 to 1e+06"),  # Adam's lr / 0.1 would overflow float32
    (["--lr", "1e-50"], "--lr: must be from 1e-30 to 1e+06"),  # 0 in float32: nothing would train
    (["--epochs", "2", "--train-samples", "1000"], "--epochs and --train-samples both set how long to train"),
    (["--out", ""], "--out: is empty; give a path"),
    (["--seed", str(10**15)], "--seed: must be at most 4,294,967,295"),
    (["--seed", str(2**32)], "--seed: must be at most"),
    (["--batch-size", str(10**20)], "--batch-size: must be at most 1,000,000"),
    (["--lr", "1e39"], "--lr: must be a finite number in float32"),
    (["--forget-bias=-1e39"], "--forget-bias: must be a finite number in float32"),
    (["--clip-grad-norm", "1e300"], "--clip-grad-norm: must be a finite number in float32"),
    (["--epochs", str(10**20)], "--epochs: must be at most 2,147,483,647"),
    (["--limit-train", str(10**20)], "--limit-train: must be at most"),
    (["--hidden-size", str(10**20)], "--hidden-size: must be at most"),
])
def test_numbers_past_what_the_tensors_hold_are_usage_errors(flags, message, monkeypatch, capsys):
    status, _, err = command(train, *flags, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_largest_seed_works_everywhere_it_is_used():
    batches = data.shuffled_batches(10, 4, seed=MAX_SEED, epoch=10**6)
    assert torch.cat(batches).sort().values.tolist() == list(range(10))
    data.random_affine(torch.rand(2, 28, 28), seed=MAX_SEED * 1_000_003 + 10**9)  # training's augmentation seed


def test_a_model_too_large_for_memory_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    status, _, err = command(train, "--hidden-size", 10**6, "--device", "cpu", "--data-dir", tmp_path / "none",
                             "--out", tmp_path / "x.pt", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "--hidden-size 1000000: the LSTM model would have 4,000,130,000,010 parameters" in err
    assert "choose a smaller --hidden-size" in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("projection", [False, True])
def test_the_parameter_estimate_is_exact(cell, projection):
    config = ModelConfig(hidden_size=7, cell=cell, input_projection=projection)
    model = LSTMClassifier.from_config(config)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())


# --- 5. paths are names, never patterns ---------------------------------------------------


def test_stale_temporaries_are_matched_by_their_exact_name_only(tmp_path):
    others = [".thesis.docx.autosave.tmp", ".run1.pt.abcd1234.tmp", ".runX.pt.abcd1234.tmp", ".*.notmine.tmp"]
    for name in others:
        (tmp_path / name).write_bytes(b"someone else's")
    (tmp_path / ".run[1].pt.zz_99xyz.tmp").mkdir()  # a folder of that name is not a temporary file
    own = tmp_path / ".run[1].pt.k3j_9a0b.tmp"
    own.write_bytes(b"half a checkpoint")
    assert remove_stale_temporaries(tmp_path / "*") == []
    assert remove_stale_temporaries(tmp_path / "run[1].pt") == [own]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*others, ".run[1].pt.zz_99xyz.tmp"])



def test_every_write_removes_its_targets_temporaries_left_long_ago_and_only_those(tmp_path):
    """predict.py, the figures, the scripts: a writer killed mid-write leaves a temporary; the next
    write of the same file removes it once it is ten minutes old (a live writer's is younger)."""
    target = tmp_path / "predictions.csv"
    old, fresh = tmp_path / ".predictions.csv.k3j_9a0b.tmp", tmp_path / ".predictions.csv.zz_99xyz.tmp"
    others = tmp_path / ".other.csv.k3j_9a0b.tmp"
    for path in (old, fresh, others):
        path.write_bytes(b"half written")
    hours_ago = time.time() - 7200
    for path in (old, others):
        os.utime(path, (hours_ago, hours_ago))
    atomic_write(target, lambda f: f.write(b"label\n"))
    assert target.read_bytes() == b"label\n"
    assert not old.exists() and fresh.exists() and others.exists()

# --- 6 and 7. output paths: checked before any work, the same in every command, never an input --


def test_bad_output_paths_are_usage_errors_before_any_work_in_every_command(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    afile = tmp_path / "afile"
    afile.write_text("in the way")
    missing = tmp_path / "missing" / "dir"
    cases = [
        (evaluate, [ck, "--plots", afile / "sub"], "afile is in the way: it is a file, not a folder"),
        (evaluate, [ck, "--plots", afile], "exists and is not a folder"),
        (evaluate, [ck, "--plots", missing], "missing does not exist; create it first"),
        (evaluate, [ck, "--plots", "/proc/plots"], "cannot write in /proc"),
        (inspect_digit, [ck, "--figure", afile / "x.png"], "afile is in the way"),
        (inspect_digit, [ck, "--figure", missing / "x.png"], "missing/dir does not exist; create it first"),
        (inspect_digit, [ck, "--figure", "/proc/x.png"], "cannot write in /proc"),
        (predict, [ck, folder, "--out", afile / "p.csv"], "afile is in the way"),
        (predict, [ck, folder, "--out", missing / "p.csv"], "missing/dir does not exist; create it first"),
        (predict, [ck, folder, "--out", "/proc/p.csv"], "cannot write in /proc"),
        # no command writes over its own input (item 6)
        (inspect_digit, [ck, "--figure", ck], "is this command's own input"),
        (inspect_digit, [ck, "--image", folder / "0.png", "--figure", folder / "0.png"], "is this command's own input"),
        (predict, [ck, folder, "--out", ck, "--overwrite"], "is this command's own input"),
        (predict, [ck, folder / "1.png", "--out", folder / "1.png", "--overwrite"], "is named as an image"),
        (predict, [ck, tmp_path / "scan.dat", "--out", tmp_path / "scan.dat", "--overwrite"],
         "is this command's own input"),  # an image named by itself may have any name
    ]
    (tmp_path / "scan.dat").write_bytes((folder / "1.png").read_bytes())
    before = ck.read_bytes(), (folder / "0.png").read_bytes(), (folder / "1.png").read_bytes()
    for module, args, message in cases:
        no_data = [] if module is predict else ["--data-dir", tmp_path / "no-data"]  # the work would fail
        status, out, err = command(module, *args, "--device", "cpu", *no_data, monkeypatch=monkeypatch, capsys=capsys)
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert out == ""  # nothing was done first
    assert (ck.read_bytes(), (folder / "0.png").read_bytes(), (folder / "1.png").read_bytes()) == before
    assert not missing.parent.exists()

    plots = tmp_path / "plots"  # a new folder whose parent exists is made, as a new file would be
    check_output_folder(plots, evaluate.PLOTS, "--plots")
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"exists and is a FIFO \(named pipe\), not a file to replace"):
        check_output_path(fifo, may_replace=True)


def test_evaluate_plots_into_a_new_folder_and_refuses_to_replace_its_checkpoint(tmp_path, synthetic_dir, saved,
                                                                                 monkeypatch, capsys):
    ck, _ = saved
    status, out, err = command(evaluate, ck, "--plots", tmp_path / "plots", "--max-images", 4, "--device", "cpu",
                               "--data-dir", synthetic_dir, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0, err
    assert (tmp_path / "plots" / "confusion_matrix.png").exists()
    inside = tmp_path / "plots" / "confusion_matrix.png"
    inside.unlink()
    inside.symlink_to(ck)  # the plot's name is a link to the checkpoint read
    status, _, err = command(evaluate, ck, "--plots", tmp_path / "plots", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and "own input" in err and ckpt.load(ck)


# --- 11. text that cannot be encoded ------------------------------------------------------


def test_names_that_are_not_utf8_and_an_ascii_terminal_degrade_never_crash(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    odd = os.fsdecode(b"caf\xe9.png")
    (folder / "1.png").rename(folder / odd)
    status, out, _ = command(predict, ck, folder, "--out", tmp_path / "p.csv", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0 and "3 images classified" in out
    assert [row[0] for row in csv.reader((tmp_path / "p.csv").open(encoding="utf-8"))][1:] == \
           ["0.png", "2.png", "caf\\xe9.png"]

    names = tmp_path / os.fsdecode(b"names-\xff.pt")  # a checkpoint path with odd bytes, non-ASCII class names
    ckpt.save(names, full_checkpoint(class_names=tuple(f"\u00e9t\u00e9 {k}" for k in range(10))))  # "été 0", ...
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")  # LC_ALL=C, no UTF-8 mode
    monkeypatch.setattr(sys, "stdout", ascii_out)
    monkeypatch.setattr(sys, "argv", ["inspect_digit.py", str(names), "--image", str(folder / odd),
                                      "--figure", str(tmp_path / odd)])
    assert inspect_digit.command() == 0
    ascii_out.flush()
    text = ascii_out.buffer.getvalue().decode("ascii")
    assert "names-\\xff.pt" in text and "prediction: \\xe9t\\xe9 " in text
    assert class_names("z\udce9ro,1,2,3,4,5,6,7,8,9")[0] == "z\\xe9ro"  # a name given in another encoding


# --- 12. smaller ones -----------------------------------------------------------------------


def test_csv_injection_is_neutralised(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    for i, name in enumerate(["=cmd.png", "+sum.png", "-2.png"]):
        (folder / f"{i}.png").rename(folder / name)
    (folder / "@at.png").write_bytes((folder / "=cmd.png").read_bytes())
    status, _, err = command(predict, ck, folder, "--out", tmp_path / "p.csv", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0, err
    files = [row["file"] for row in csv.DictReader((tmp_path / "p.csv").open())]
    assert files == ["'+sum.png", "'-2.png", "'=cmd.png", "'@at.png"]
    assert predict.cell("\tx") == "'\tx" and predict.cell("\rx") == "'\rx" and predict.cell("ok") == "ok"


@pytest.mark.parametrize("text, message", [
    ("a,b,c,d,e,f,g,h,i,a", "each label needs its own name, got 'a' for labels 0, 9"),
    ("a,b,c, ,e,f,g,h,i,j", "the name of label 3 is blank"),
    ("a,b", "expected 10 non-empty comma-separated names, got 2"),
    ("a\nb,c,d,e,f,g,h,i,j,k", "the name of label 0 holds a control character"),
    ("a,b,c,d,e,f,g,h,i,\x1b[31mRED", "the name of label 9 holds a control character"),
    ("a,b,c,d,e,f,g,h,i," + "x" * 41, "the name of label 9 is 41 characters long, more than 40"),
])
def test_class_names_must_be_ten_distinct_non_blank_names(text, message):
    with pytest.raises(Exception, match=message):
        class_names(text)


def test_a_failed_download_leaves_no_folder_behind(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("<urlopen error Name or service not known>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match="Name or service not known"):
        data.load_mnist(None, download_root=tmp_path / "a" / "b" / "data")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ink, transparent", [((0, 0, 0, 255), (0, 0, 0, 0)), ((255, 255, 255, 255), (255, 255, 255, 0)),
                                              ((20, 20, 200, 255), (0, 0, 0, 0))])
def test_a_drawing_on_a_transparent_background_is_read_as_a_digit(tmp_path, ink, transparent):
    drawing = Image.new("RGBA", (100, 100), transparent)
    drawing.paste(Image.new("RGBA", (10, 60), ink), (45, 20))  # a vertical stroke: a "1"
    drawing.save(tmp_path / "one.png")
    image = load_image(tmp_path / "one.png").numpy()
    rows, columns = np.nonzero(image > 0.5)
    assert rows.max() - rows.min() + 1 == 20 and image[0].max() == 0  # white digit scaled to 20 rows, black around


def test_metrics_records_without_their_event_are_refused(tmp_path):
    """train.py and the training figure read each record's event and epoch: a record without
    them is one line at load time, not a KeyError later."""
    checkpoint = full_checkpoint()
    checkpoint["metrics"] = [{"epoch": 1, "val_accuracy": 0.9}]
    ckpt.save(tmp_path / "odd.pt", checkpoint)
    with pytest.raises(CheckpointError, match=r'metrics holds records that are not \{"event"'):
        ckpt.load(tmp_path / "odd.pt")


# --- review of the round: what a hostile user found next ----------------------------------


def test_no_command_writes_over_the_mnist_files_it_reads(tmp_path, synthetic_dir, saved, monkeypatch, capsys):
    ck, _ = saved
    data = tmp_path / "data"
    data.mkdir()
    for f in synthetic_dir.iterdir():
        (data / f.name).write_bytes(f.read_bytes())
    before = {f.name: f.read_bytes() for f in data.iterdir()}
    train_images, test_images = data / "train-images-idx3-ubyte.gz", data / "t10k-images-idx3-ubyte.gz"
    cases = [
        (train, ["--out", train_images, "--overwrite"], "--out"),
        (inspect_digit, [ck, "--index", "0", "--figure", test_images], "--figure"),
        (inspect_digit, [ck, "--index", "0", "--no-figure", "--animation", test_images], "--animation"),
    ]
    for module, args, flag in cases:
        status, out, err = command(module, *args, "--device", "cpu", "--data-dir", data, monkeypatch=monkeypatch,
                                   capsys=capsys)
        assert status == 2 and f"{flag} " in err and "is this command's own input" in err, err
        assert out == "" and len(err.strip().splitlines()) == 1
    assert {f.name: f.read_bytes() for f in data.iterdir()} == before  # nothing written, nothing added
    figure = tmp_path / "same"  # no suffix: a PNG, or a GIF, as either name may be
    status, _, err = command(inspect_digit, ck, "--index", "0", "--figure", figure, "--animation", figure,
                             "--data-dir", data, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and "is also the --figure" in err and not figure.exists()


def test_inspect_refuses_flags_that_would_be_silently_ignored(saved, monkeypatch, capsys):
    ck, folder = saved
    for args, message in [(["--image", folder / "0.png", "--split", "val"], "--split chooses among MNIST's images"),
                          (["--index", "0", "--row", "3", "--no-figure"], "--row is for the figure"),
                          (["--index", "0", "--figure", "f.png", "--no-figure"], "--figure is for the figure")]:
        status, out, err = command(inspect_digit, ck, *args, monkeypatch=monkeypatch, capsys=capsys)
        assert status == 2 and message in err and out == "", err


def test_evaluate_bounds_the_mistakes_it_draws(saved, monkeypatch, capsys):
    status, _, err = command(evaluate, saved[0], "--plots", "p", "--max-images", "100000000", monkeypatch=monkeypatch,
                             capsys=capsys)
    assert status == 2 and "--max-images: must be at most 1,000" in err


def test_a_damaged_checkpoint_is_described_in_a_few_words(tmp_path, saved):
    whole = saved[0].read_bytes()
    for content, words in [(b"", "the file is empty"), (b"hello\n", "not a zip archive, the form torch.save writes"),
                           (whole[: len(whole) // 2], "a damaged or truncated zip archive")]:
        path = tmp_path / "bad.pt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError) as error:
            ckpt.load(path)
        assert str(error.value) == f"{path}: not a readable checkpoint ({words})"


def test_a_run_that_has_trained_cannot_resume_without_adams_moments(tmp_path):
    checkpoint = full_checkpoint()  # after epoch 1
    checkpoint["optimizer"]["state"] = {}
    with pytest.raises(CheckpointError, match="holds Adam's moments for 0 of the 6 parameters, after training began"):
        ckpt.check_resumable(checkpoint, "x.pt")
    checkpoint["progress"] = dataclasses.asdict(Progress())  # saved before the first step: nothing to lose
    ckpt.check_resumable(checkpoint, "x.pt")


def test_a_boolean_version_is_no_version(tmp_path):
    path = tmp_path / "v.pt"
    ckpt.save(path, full_checkpoint() | {"version": True})
    with pytest.raises(CheckpointError, match="unknown checkpoint format version True"):
        ckpt.load(path)


def test_an_mnist_name_that_is_not_a_file_is_named_for_what_it_is(tmp_path, synthetic_dir):
    for make, what in [(os.mkfifo, "a FIFO"), (os.mkdir, "a folder"), (lambda p: os.symlink(tmp_path / "no", p),
                                                                        "a link that leads to no file")]:
        folder = tmp_path / f"data-{len(what)}"
        folder.mkdir()
        for f in synthetic_dir.iterdir():
            if not f.name.startswith("t10k-labels"):
                (folder / f.name).write_bytes(f.read_bytes())
        make(folder / "t10k-labels-idx1-ubyte.gz")
        with deadline(10), pytest.raises(DataError, match=f"t10k-labels-idx1-ubyte.gz is {what}.*, not an MNIST file"):
            data.find_files(folder)


def test_predict_takes_one_image_and_skips_the_files_it_cannot_read(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    (folder / "empty.png").write_bytes(b"")
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(folder / "blank.png")
    out = tmp_path / "p.csv"
    status, stdout, err = command(predict, ck, folder, "--out", out, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0 and "3 images classified, 2 skipped" in stdout
    *skipped, unfinished = err.strip().splitlines()  # the fixture's checkpoint is of a run stopped after epoch 1
    assert sorted(line.split(": ")[1].rsplit("/", 1)[1] for line in skipped) == [
        "blank.png", "empty.png"]  # "predict.py: skipped PATH: why", one line each
    assert unfinished.startswith(f"predict.py: {ck} is from an unfinished run")
    assert [row[0] for row in csv.reader(out.open())][1:] == ["0.png", "1.png", "2.png"]
    status, stdout, _ = command(predict, ck, folder / "1.png", "--out", tmp_path / "one.csv", monkeypatch=monkeypatch,
                                capsys=capsys)
    assert status == 0 and "1 image classified" in stdout
    status, _, err = command(predict, ck, folder / "empty.png", "--out", tmp_path / "e.csv", monkeypatch=monkeypatch,
                             capsys=capsys)
    assert status == 1 and err.strip() == f"predict.py: error: {folder / 'empty.png'}: not an image (empty, or in no " \
                                           "format Pillow reads, such as PNG or JPEG)"
    assert not (tmp_path / "e.csv").exists()


def test_a_closed_pipe_ends_a_command_quietly_and_sigterm_as_ctrl_c(capsys):
    def reader_gone():
        raise BrokenPipeError(32, "Broken pipe")

    assert cli.run(reader_gone, "x") == cli.BROKEN_PIPE
    assert capsys.readouterr().err == ""

    def terminated():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this

    assert cli.run(terminated, "x") == cli.INTERRUPTED and capsys.readouterr().err == "x: interrupted\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back


def test_a_closed_stderr_is_written_to_nowhere_not_a_crash(tmp_path, synthetic_dir):
    out = tmp_path / "run.pt"
    command = (f"{sys.executable} {ROOT / 'train.py'} --device cpu --data-dir {synthetic_dir} --hidden-size 8 "
               f"--limit-train 64 --epochs 1 --validation-size 100 --no-figure --out {out} 2>&-")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and out.exists() and "test accuracy" in result.stdout


def test_an_output_may_not_take_a_name_the_data_is_read_from(tmp_path, synthetic_dir, monkeypatch, capsys):
    """A raw IDX name wins over its .gz: a checkpoint written there would be read as the data."""
    raw = synthetic_dir / "t10k-images-idx3-ubyte"
    assert not raw.exists()
    status, _, err = command(train, "--out", raw, "--data-dir", synthetic_dir, "--device", "cpu",
                             monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and "is a name this command reads its data from" in err and not raw.exists()


def test_tensorboard_and_long_names_are_checked_before_any_work(tmp_path, saved, monkeypatch, capsys):
    ck, folder = saved
    long_name = "b" * 250
    cases = [
        (train, ["--tensorboard", tmp_path / "no" / "deeper"], "folder " + str(tmp_path / "no") + " does not exist"),
        (train, ["--tensorboard", ck], "exists and is not a folder"),
        (train, ["--out", tmp_path / f"{long_name}.pt"], "is 253 bytes long; at most 241 here"),
        (train, ["--out", tmp_path / f"{'c' * 235}.pt"], ".metrics.jsonl, the file it names, is 249 bytes long"),
        (evaluate, [ck, "--plots", tmp_path / long_name], "is 250 bytes long; at most 241 here"),
        (predict, [ck, folder, "--out", tmp_path / f"{long_name}.csv"], "is 254 bytes long"),
    ]
    for module, args, message in cases:
        status, out, err = command(module, *args, "--device", "cpu", monkeypatch=monkeypatch, capsys=capsys)
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1 and out == "", err
    assert not (tmp_path / "no").exists()


def test_one_lock_for_every_spelling_of_a_checkpoint(tmp_path):
    real, link = tmp_path / "run.pt", tmp_path / "link.pt"
    real.write_bytes(b"")
    link.symlink_to(real)
    with files.exclusive(real):
        with pytest.raises(LSTMMnistError, match="another run .* is writing it right now"):
            with files.exclusive(link):
                pass


def test_a_full_disk_in_training_names_the_file_and_the_way_back(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run.pt"

    def disk_full(args, out, *rest):
        out.write_bytes(b"the last checkpoint")
        raise OSError(28, "No space left on device", str(tmp_path / ".run.pt.abcdefgh.tmp"))

    monkeypatch.setattr(train, "train_and_report", disk_full)
    status, _, err = command(train, "--out", out, "--device", "cpu", "--data-dir", tmp_path, monkeypatch=monkeypatch,
                             capsys=capsys)
    [line] = err.strip().splitlines()
    assert status == 1 and line.startswith(f"train.py: error: {tmp_path}/run.pt: No space left on device")  # not its temporary
    assert line.endswith(f"resume with: python train.py --resume {out} --data-dir {tmp_path} --device cpu")


def test_the_web_page_never_replaces_its_inputs_and_shows_the_checkpoints_class_names(tmp_path, saved, capsys):
    from lstm_mnist import web

    site = tmp_path / "site"
    site.mkdir()
    inside = site / "weights.js"  # a name the site itself writes
    inside.write_bytes(saved[0].read_bytes())
    with pytest.raises(SystemExit) as exit_:
        web.main([str(inside), "--out", str(site), "--overwrite"])
    assert exit_.value.code == 2 and "is inside --out" in capsys.readouterr().err
    assert inside.read_bytes() == saved[0].read_bytes()
    names = tuple("T Tr P D C S Sh Sn B A".split())
    model, checkpoint = ckpt.load_model(saved[0])
    assert web.model_data(model, checkpoint | {"class_names": list(names)}, saved[0])["class_labels"] == list(names)


# --- 13. outputs as a newcomer names them -----------------------------------------------------


def test_an_output_through_a_symbolic_link_writes_the_file_it_points_to(tmp_path, saved, monkeypatch, capsys):
    """Every command writes through a link (as train.py --out always did): the file it points to is
    replaced and the link stays. A link to something that is not a file is refused before any work."""
    ck, folder = saved
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("old\n")
    link.symlink_to(real)
    status, _, _ = command(predict, ck, folder, "--out", link, "--overwrite", "--device", "cpu",
                           monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0 and link.is_symlink() and real.read_text().startswith("file,")
    figure, figure_link = tmp_path / "figures" / "trace.png", tmp_path / "trace.png"
    figure.parent.mkdir()
    figure_link.symlink_to(figure)  # to a file not written yet
    status, _, _ = command(inspect_digit, ck, "--image", folder / "0.png", "--figure", figure_link, "--device", "cpu",
                           monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0 and figure_link.is_symlink() and figure.read_bytes().startswith(b"\x89PNG")
    atomic_write(link, lambda f: f.write(b"through"))  # what every other output is written with
    assert link.is_symlink() and real.read_bytes() == b"through"

    device, to_folder, to_fifo = tmp_path / "device.csv", tmp_path / "folder.csv", tmp_path / "fifo.csv"
    device.symlink_to("/dev/null")  # as /dev/stdout is, on a terminal
    to_folder.symlink_to(folder)
    os.mkfifo(tmp_path / "fifo")
    to_fifo.symlink_to(tmp_path / "fifo")  # as /dev/stdout is, into a pipe
    for out, message in ((device, "exists and is a character device, not a file to replace"),
                         (to_folder, "is a folder"), (to_fifo, "exists and is a FIFO (named pipe)")):
        status, _, err = command(predict, ck, folder, "--out", out, "--overwrite", "--device", "cpu",
                                 monkeypatch=monkeypatch, capsys=capsys)
        assert status == 2 and message in err and out.is_symlink(), err
    assert os.path.realpath(device) == "/dev/null"


def test_an_output_name_ending_in_a_folder_is_a_usage_error(tmp_path, saved, monkeypatch, capsys):
    """'--out runs/' names a folder: it is refused, never written as the file 'runs'."""
    ck, folder = saved
    no_data = ["--data-dir", tmp_path / "no-data"]  # were the name taken, the work would fail, not run
    for module, args in ((train, ["--out"]), (predict, [ck, folder, "--out"]), (inspect_digit, [ck, "--figure"]),
                         (inspect_digit, [ck, "--animation"])):
        for name in ("runs/", "runs/.", "runs/.."):
            status, out, err = command(module, *args, f"{tmp_path}/{name}", "--device", "cpu",
                                       *([] if module is predict else no_data),
                                       monkeypatch=monkeypatch, capsys=capsys)
            assert status == 2 and "names a folder; give the name of a file" in err and out == "", err
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SystemExit) as exit_:
        from lstm_mnist import bench
        monkeypatch.setattr(sys, "argv", ["bench", "--json", f"{tmp_path}/runs/"])
        bench.main()
    assert exit_.value.code == 2 and "names a folder" in capsys.readouterr().err


def test_a_figure_is_written_in_the_format_its_name_asks_for_or_refused(tmp_path, saved, monkeypatch, capsys):
    """inspect_digit.py --figure trace.svg writes SVG (and .pdf a PDF, .jpg a JPEG); a name whose
    format cannot be written (.mp4, or anything but .gif for --animation) is refused before any work."""
    ck, folder = saved
    starts = {"svg": b"<?xml", "pdf": b"%PDF", "jpg": b"\xff\xd8", "png": b"\x89PNG", "": b"\x89PNG"}
    for suffix, start in starts.items():
        figure = tmp_path / f"trace{'.' + suffix if suffix else ''}"
        status, _, err = command(inspect_digit, ck, "--image", folder / "0.png", "--figure", figure, "--device", "cpu",
                                 monkeypatch=monkeypatch, capsys=capsys)
        assert status == 0 and figure.read_bytes().startswith(start), (suffix, err)
    for flag, name, message in (("--figure", "t.mp4", "t.mp4: cannot be written as .mp4; name it .png or .svg or"),
                                ("--animation", "a.mp4", "a.mp4: cannot be written as .mp4; name it .gif"),
                                ("--animation", "a.png", "a.png: cannot be written as .png; name it .gif")):
        status, out, err = command(inspect_digit, ck, "--image", folder / "0.png", flag, tmp_path / name,
                                   "--device", "cpu", monkeypatch=monkeypatch, capsys=capsys)
        assert status == 2 and message in err and out == "" and not (tmp_path / name).exists(), err


@pytest.mark.parametrize("value", ["-1e-3", "-1E+2", "-2.5e-1", "-.5", "-1", "-1_000.5"])
def test_a_negative_number_in_any_notation_is_a_value(value, tmp_path):
    """'--forget-bias -1e-3' is the number, as '-1' always was (argparse alone reads '-1e-3' as an unknown flag)."""
    args = train.build_parser().parse_args(["--forget-bias", value, "--out", str(tmp_path / "r.pt")])
    assert getattr(args, "model.forget_bias") == float(value)


@pytest.mark.parametrize("flags, message", [
    (["--lr", "-1e-3"], "argument --lr: must be"),
    (["--lr", "-inf"], "argument --lr: must be"),
    (["--forget-bias", "-inf"], "argument --forget-bias: must be a finite number"),
])
def test_a_negative_number_out_of_range_is_checked_as_a_number(flags, message, tmp_path, monkeypatch, capsys):
    status, _, err = command(train, *flags, "--out", tmp_path / "r.pt", monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and message in err and "expected one argument" not in err, err


def test_running_out_of_memory_is_one_line_not_a_traceback(capsys):
    """The checks before a run count the model's weights, not each batch's work: an allocation that
    fails later (CPU or CUDA) ends the command with one line saying what to change."""
    def allocate_too_much():
        torch.empty(2**50, dtype=torch.uint8)  # a petabyte

    def cuda_out_of_memory():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total ...")

    assert cli.run(allocate_too_much, "train.py") == 1
    assert capsys.readouterr().err == ("train.py: error: out of memory (it asked for 1125899.9 GB at once): try a "
                                       "smaller --batch-size or a smaller model, or close other programs\n")
    assert cli.run(cuda_out_of_memory, "train.py") == 1
    assert "out of memory (it asked for 2.00 GiB at once)" in capsys.readouterr().err

    def bug():
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):  # any other error is a bug: its traceback is kept
        cli.run(bug, "train.py")


def test_train_prints_a_name_that_is_not_utf8_escaped_and_resumable(tmp_path, synthetic_dir, monkeypatch, capsys):
    """A checkpoint named in another encoding: the messages show it escaped (caf\\xe9.pt), and the
    resume command they give, pasted into bash, names the very file ($'caf\\xe9.pt')."""
    out = tmp_path / os.fsdecode(b"caf\xe9.pt")
    status, text, err = command(train, "--out", out, "--data-dir", synthetic_dir, "--device", "cpu", "--epochs", 2,
                                "--stop-after", 1, "--hidden-size", 8, "--no-figure", monkeypatch=monkeypatch,
                                capsys=capsys)
    assert status == 0 and out.exists(), err
    assert "caf\\xe9.pt" in text and "\udce9" not in text
    resume = text.split("resume with: ")[1].split()
    assert resume[:4] == ["python", "train.py", "--resume", f"$'{tmp_path}/caf\\xe9.pt'"]
    shell = subprocess.run(["bash", "-c", f"printf %s {resume[3]}"], capture_output=True)
    assert shell.stdout == os.fsencode(out)


def test_resuming_with_fewer_epochs_than_trained_is_a_usage_error(tmp_path, synthetic_dir, monkeypatch, capsys):
    """--resume of a 2-epoch run with --epochs 1 asks for less than was done: one line, exit 2 (not
    'has already trained 2 of 1 epochs' and success); with --epochs 2 there is nothing left to do."""
    out = tmp_path / "run.pt"
    small = ["--data-dir", synthetic_dir, "--device", "cpu", "--hidden-size", 8, "--no-figure"]
    assert command(train, "--out", out, "--epochs", 2, *small, monkeypatch=monkeypatch, capsys=capsys)[0] == 0
    before = out.read_bytes()
    status, _, err = command(train, "--resume", out, "--epochs", 1, *small, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and err.strip() == (f"train.py: error: --resume {out}: has already trained 2 epochs, more than "
                                           "the 1 epoch asked for; pass a larger --epochs (or --train-samples) to train "
                                           "further (see --help)")
    status, text, _ = command(train, "--resume", out, "--epochs", 2, *small, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 0 and f"{out} has already trained the 2 epochs asked for" in text
    assert out.read_bytes() == before


def test_evaluate_refuses_max_images_without_plots(saved, monkeypatch, capsys):
    """--max-images bounds the mistakes drawn by --plots: alone it would do nothing, so it is refused."""
    status, out, err = command(evaluate, saved[0], "--max-images", 5, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and out == "" and "--max-images is for the mistakes drawn with --plots DIR" in err


def test_the_test_split_needs_only_the_test_files(tmp_path, synthetic_dir, saved, monkeypatch, capsys):
    """evaluate.py, inspect_digit.py --index and the web page's sample digits read the two t10k files
    only: a folder without the training files, or with a damaged one, serves them. The validation
    split is carved from the training file, so --split val still needs it, and says so."""
    ck, _ = saved
    test_only, damaged = tmp_path / "test-only", tmp_path / "damaged"
    for folder in (test_only, damaged):
        folder.mkdir()
        for f in synthetic_dir.glob("t10k-*"):
            (folder / f.name).write_bytes(f.read_bytes())
    (damaged / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    (damaged / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    for folder in (test_only, damaged):
        status, out, err = command(evaluate, ck, "--data-dir", folder, "--device", "cpu", monkeypatch=monkeypatch,
                                   capsys=capsys)
        assert status == 0 and "300 images" in out, err
        status, out, err = command(inspect_digit, ck, "--index", 3, "--no-figure", "--data-dir", folder, "--device",
                                   "cpu", monkeypatch=monkeypatch, capsys=capsys)
        assert status == 0 and "test image 3" in out, err
    from lstm_mnist import web
    assert len(web.sample_digits(test_only, 5)) == 5
    status, _, err = command(evaluate, ck, "--split", "val", "--data-dir", test_only, "--device", "cpu",
                             monkeypatch=monkeypatch, capsys=capsys)
    assert status == 1 and "lacks train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]" in err


def test_predict_writes_its_csv_to_stdout_for_out_dash(tmp_path, saved, monkeypatch, capsys):
    """'--out -' is stdout (for a pipe), as in most command-line tools: no file named '-' is
    written, and the summary goes to stderr, so stdout is the CSV alone."""
    ck, folder = saved
    monkeypatch.chdir(tmp_path)
    status, out, err = command(predict, ck, folder, "--out", "-", "--device", "cpu", monkeypatch=monkeypatch,
                               capsys=capsys)
    rows = list(csv.reader(io.StringIO(out)))
    assert status == 0 and rows[0][:3] == ["file", "prediction", "probability"] and len(rows) == 4
    summary, unfinished = err.splitlines()  # the fixture's checkpoint is of a run stopped after epoch 1
    assert summary == "3 images classified" and "unfinished run" in unfinished and not (tmp_path / "-").exists()
    status, out, _ = command(predict, ck, folder, "--out", "./-", "--device", "cpu", monkeypatch=monkeypatch,
                             capsys=capsys)
    assert status == 0 and (tmp_path / "-").read_text().startswith("file,")  # a file named '-' is ./-


def test_stop_after_at_or_past_the_last_epoch_is_refused(tmp_path, synthetic_dir, monkeypatch, capsys):
    """--stop-after N stops after epoch N to resume later; at or past the run's last epoch it would
    do nothing, so it is refused (exit 2) before training, not ignored."""
    out = tmp_path / "run.pt"
    status, _, err = command(train, "--out", out, "--epochs", 2, "--stop-after", 2, "--data-dir", synthetic_dir,
                             "--device", "cpu", "--hidden-size", 8, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and "--stop-after 2: the run has 2 epochs and ends there anyway" in err
    assert not out.exists()


def test_limit_train_past_the_training_split_is_refused(tmp_path, synthetic_dir, monkeypatch, capsys):
    """--limit-train N takes the first N training images; with fewer there (a large --validation-size
    leaves 400 of the synthetic 5,400) it would do nothing, and the run would train on fewer images
    than asked unsaid: refused (exit 2) before training, naming what is there."""
    out = tmp_path / "run.pt"
    status, _, err = command(train, "--out", out, "--limit-train", 1000, "--validation-size", 5000, "--data-dir",
                             synthetic_dir, "--device", "cpu", "--hidden-size", 8, monkeypatch=monkeypatch, capsys=capsys)
    assert status == 2 and "--limit-train 1000: the training split has only 400 images" in err
    assert "less the 5,000 held out for validation" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
