"""predict.py: a folder of images in, a CSV of predictions out, equal to the model's own."""

import csv

import numpy as np
import torch
from PIL import Image

from conftest import run_script, synthetic_digits
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.commands.predict import load_image
from lstm_mnist.training import Progress, TrainConfig, make_checkpoint


def test_folder_to_csv_matches_the_model(tmp_path):
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=16)
    ckpt.save(tmp_path / "m.pt", make_checkpoint(model, torch.optim.Adam(model.parameters()), TrainConfig(),
                                                 Progress(epoch=1), []))
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
    assert broken.returncode == 1 and "broken.png: not a readable image" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1 and not (tmp_path / "q.csv").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    none = run_script("predict.py", str(tmp_path / "m.pt"), str(empty), "--out", str(tmp_path / "r.csv"))
    assert none.returncode == 1 and "no .png, .jpg or .jpeg images" in none.stderr


def test_light_background_and_other_sizes_are_brought_to_mnist_form(tmp_path):
    images, _ = synthetic_digits(1, np.random.default_rng(2))
    Image.fromarray(255 - images[0]).resize((56, 56), Image.NEAREST).save(tmp_path / "big_inverted.png")
    loaded = load_image(tmp_path / "big_inverted.png")
    assert loaded.shape == (28, 28)
    assert (loaded - torch.from_numpy(images[0]).float() / 255).abs().mean() < 0.05
