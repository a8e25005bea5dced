"""predict.py: a folder of images in, a CSV of predictions out, equal to the model's own."""

import csv
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, run_on_terminal, run_script, synthetic_digits
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.images import load_image, resize_lanczos
from lstm_mnist.checkpoint import Progress
from lstm_mnist.config import TrainConfig


def test_folder_to_csv_matches_the_model(tmp_path):
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=16)
    ckpt.save(tmp_path / "m.pt", ckpt.make(model, torch.optim.Adam(model.parameters()), TrainConfig(),
                                                 Progress(epoch=1), [{"event": "test", "epoch": 1}]))  # finished
    images, _ = synthetic_digits(7, np.random.default_rng(1))
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image, ignored")

    result = run_script("predict.py", str(tmp_path / "m.pt"), str(folder), "--out", str(tmp_path / "p.csv"),
                        "--device", "cpu", "--batch-size", "3")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [r["file"] for r in rows] == [f"{i}.png" for i in range(7)]
    expected = model(torch.from_numpy(images).float() / 255).softmax(1)
    for row, p in zip(rows, expected):
        got = torch.tensor([float(row[f"p_{k}"]) for k in range(10)])
        torch.testing.assert_close(got, p.detach(), atol=2e-6, rtol=0)
        assert row["prediction"] == str(int(p.argmax()))

    # errors: an existing --out, an unreadable image, an empty folder
    again = run_script("predict.py", str(tmp_path / "m.pt"), str(folder), "--out", str(tmp_path / "p.csv"))
    assert again.returncode == 2 and "exists" in again.stderr
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    broken = run_script("predict.py", str(tmp_path / "m.pt"), str(folder), "--out", str(tmp_path / "q.csv"))
    assert broken.returncode == 0 and "7 images classified, 1 skipped" in broken.stdout  # the others still are
    [line] = broken.stderr.strip().splitlines()
    assert line == f"predict.py: skipped {folder / 'broken.png'}: not an image (empty, or in no format Pillow reads, " \
                   "such as PNG or JPEG)"
    assert (tmp_path / "q.csv").read_text() == (tmp_path / "p.csv").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    none = run_script("predict.py", str(tmp_path / "m.pt"), str(empty), "--out", str(tmp_path / "r.csv"))
    assert none.returncode == 1 and "no images in it (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff or .webp)" in none.stderr


def test_reading_a_folder_shows_a_progress_bar_on_a_terminal(tmp_path, shipped=ROOT / "docs/model/lstm-mnist.pt"):
    """A folder of many images takes a while to read: on a terminal a bar counts them, and a skipped
    file's line is printed above it, whole. Not on a file or a pipe (the test above: stderr holds
    the skipped line alone)."""
    images, _ = synthetic_digits(30, np.random.default_rng(2))
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    result = run_on_terminal("predict.py", str(shipped), str(folder), "--out", str(tmp_path / "p.csv"),
                                    "--device", "cpu", cwd=tmp_path)
    shown = result.stderr
    assert result.returncode == 0 and b"\rreading:   0%|" in shown and b"| 0/31 [" in shown  # the bar, drawn at the start
    lines = [line.strip() for line in shown.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")]
    assert f"predict.py: skipped {folder / 'broken.png'}: not an image".encode() in b"\n".join(lines)
    assert any(line.startswith(b"predict.py: skipped") for line in lines)  # on a line of its own, not in the bar's
    assert len(list(csv.DictReader((tmp_path / "p.csv").open()))) == 30


def test_a_large_dark_on_light_drawing_is_brought_to_mnist_form(tmp_path):
    """Inverted, the digit scaled to fit 20x20 keeping its proportions, centred by its centre
    of mass in 28x28: how MNIST itself was made."""
    drawing = np.full((300, 400), 230, dtype=np.uint8)  # a light page
    drawing[40:240, 250:330] = 20  # a dark stroke, 200 x 80 pixels, far from the centre
    Image.fromarray(drawing).save(tmp_path / "photo.png")
    image = load_image(tmp_path / "photo.png").numpy()
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 1
    rows, columns = np.nonzero(image > 0.5)
    assert rows.max() - rows.min() + 1 == 20 and columns.max() - columns.min() + 1 == 8  # 200:80 kept
    total = image.sum()
    centre = (image.sum(1) @ np.arange(28) / total, image.sum(0) @ np.arange(28) / total)
    assert abs(centre[0] - 13.5) <= 0.5 and abs(centre[1] - 13.5) <= 0.5
    assert image[:3].max() == 0 and image[:, :5].max() == 0  # the page around it is black


def test_resizing_is_pillows_lanczos_in_a_fixed_order():
    """resize_lanczos is PIL's LANCZOS, rows first: where no Pillow would start with the columns (the
    height does not shrink by more than twice the width's shrink) it equals one Image.resize call,
    and a tall shrink, where Pillow 13 would start with the columns, is still rows, then columns."""
    rng = np.random.default_rng(3)
    for _ in range(30):
        h, w, height, width = (int(n) for n in rng.integers(1, 90, size=4))
        pixels = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        resized = resize_lanczos(pixels, height, width)
        assert resized.shape == (height, width) and resized.dtype == np.uint8
        if not (h - height > 0 and h - height > 2 * (w - width)):
            assert np.array_equal(resized, np.asarray(Image.fromarray(pixels).resize((width, height), Image.LANCZOS)))
    tall = rng.integers(0, 256, size=(200, 40), dtype=np.uint8)
    rows_first = Image.fromarray(tall).resize((8, 200), Image.LANCZOS).resize((8, 20), Image.LANCZOS)
    assert np.array_equal(resize_lanczos(tall, 20, 8), np.asarray(rows_first))
    # the same pixels on every Pillow: these digests were measured on Pillow 12.3 and 13.0 alike
    rng = np.random.default_rng(4)
    tall, wide = rng.integers(0, 256, size=(200, 40), dtype=np.uint8), rng.integers(0, 256, size=(30, 90), dtype=np.uint8)
    assert hashlib.sha256(resize_lanczos(tall, 20, 4).tobytes()).hexdigest()[:16] == "1101d807a34fb524"
    assert hashlib.sha256(resize_lanczos(wide, 7, 20).tobytes()).hexdigest()[:16] == "ee16b9d6c4c363f0"


def test_a_28x28_image_is_taken_as_it_is_and_a_blank_one_is_refused(tmp_path):
    images, _ = synthetic_digits(1, np.random.default_rng(2))
    Image.fromarray(255 - images[0]).save(tmp_path / "inverted.png")
    torch.testing.assert_close(load_image(tmp_path / "inverted.png"), torch.from_numpy(images[0]).float() / 255)
    for shade, size in ((255, (50, 40)), (0, (28, 28)), (255, (28, 28)), (128, (30, 30)), (0, (1, 1))):
        Image.fromarray(np.full(size, shade, dtype=np.uint8)).save(tmp_path / "blank.png")
        with pytest.raises(LSTMMnistError, match="blank.png: no digit found"):  # at any size, in any one shade
            load_image(tmp_path / "blank.png")


def test_a_shells_glob_of_images_is_one_short_line_with_the_way_out(tmp_path, run_in_process):
    """``predict.py m.pt digits/*.png`` (a classroom's first try): argparse said 'unrecognized arguments:'
    and every name but the first, 3,000 of them on one line, with no word of the folder to give instead.
    Any program's words left over are named three at a time."""
    images = [str(tmp_path / f"d{i}.png") for i in range(3000)]
    result = run_in_process("predict.py", "docs/model/lstm-mnist.pt", *images, "--out", "-")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"predict.py: error: 3,000 images or folders given ({' '.join(images[:3])} and 2,997 "
                             f"more); predict.py reads one folder (every image in it) or one image: give their "
                             f"folder, {tmp_path} (see --help)\n")
    result = run_in_process("evaluate.py", "docs/model/lstm-mnist.pt", *images)
    assert result.returncode == 2
    assert result.stderr == f"evaluate.py: error: unrecognized arguments: {' '.join(images[:3])} and 2,997 more (see --help)\n"


def test_files_of_the_folder_not_named_as_images_are_named_not_left_out_unsaid(tmp_path, run_in_process):
    """An .svg digit or a .txt beside the images was left out without a word; hidden files and folders stay aside."""
    digits = tmp_path / "digits"
    digits.mkdir()
    for name in ("one.png", "two.png"):
        Image.open(ROOT / "docs/digits/test-7.png").save(digits / name)
    for name in ("three.svg", "notes.txt", ".DS_Store"):
        (digits / name).write_text("<svg/>")
    (digits / "more").mkdir()
    result = run_in_process("predict.py", str(ROOT / "docs/model/lstm-mnist.pt"), str(digits), "--out", "-")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == ("2 images classified; 2 other files not read, not named as an image "
                                              "(.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff or .webp): "
                                              "notes.txt three.svg")
