"""Reading, checking and splitting IDX files; where the files are looked for; batches."""

import gzip

import numpy as np
import pytest
import torch

from conftest import NAMES, idx_bytes, write_idx, write_mnist
from lstm_mnist import data
from lstm_mnist.errors import DataError


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_reads_both_layouts_raw_and_gzip(tmp_path, compress, layout):
    write_mnist(tmp_path, n_train=5010, n_test=20, compress=compress, layout=layout, seed=3)
    mnist = data.load_mnist(tmp_path)
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (10, 5000, 20)
    smaller = data.load_mnist(tmp_path, validation_size=7)  # train.py --validation-size 7
    assert (len(smaller.train), len(smaller.val)) == (5003, 7) and smaller.val.images.equal(mnist.val.images[:7])
    assert mnist.train.images.shape == (10, 28, 28) and mnist.train.images.dtype == torch.float32
    assert mnist.train.labels.dtype == torch.int64
    assert 0.0 <= mnist.test.images.min() and mnist.test.images.max() == 1.0  # 255 -> 1.0


def test_split_is_the_seeds_first_5000_for_validation(tmp_path):
    write_mnist(tmp_path, n_train=5100, n_test=10, seed=1)
    raw = np.frombuffer(gzip.decompress((tmp_path / (NAMES["train_images"] + ".gz")).read_bytes())[16:], np.uint8)
    raw = raw.reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.decompress((tmp_path / (NAMES["train_labels"] + ".gz")).read_bytes())[8:], np.uint8)
    mnist = data.load_mnist(tmp_path)
    np.testing.assert_array_equal((mnist.val.images * 255).round().byte().numpy(), raw[:5000])
    np.testing.assert_array_equal((mnist.train.images * 255).round().byte().numpy(), raw[5000:])
    np.testing.assert_array_equal(mnist.train.labels.numpy(), labels[5000:])


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = write_idx(tmp_path / "x", array, compress=False)
    np.testing.assert_array_equal(data.read_images(path), array)


CORRUPTIONS = {
    "empty file": (lambda b: b"", "empty file"),
    "bad magic": (lambda b: b"\x12\x34" + b[2:], "bad magic number"),
    "float type": (lambda b: b[:2] + b"\x0d" + b[3:], "type code 0x0d is not supported"),
    "truncated data": (lambda b: b[:-100], "truncated"),
    "trailing bytes": (lambda b: b + b"\x00" * 7, "trailing bytes"),
    "truncated header": (lambda b: b[:9], "truncated header"),
    "absurd dimensions": (lambda b: b[:4] + b"\xff\xff\xff\xff" * 3 + b[16:], "truncated"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupt_image_files_are_named_with_the_problem(tmp_path, case):
    mutate, message = CORRUPTIONS[case]
    path = tmp_path / "images"
    path.write_bytes(mutate(idx_bytes(np.zeros((3, 28, 28), np.uint8))))
    with pytest.raises(DataError, match=message) as error:
        data.read_images(path)
    assert str(path) in str(error.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))[:-30])
    with pytest.raises(DataError, match="corrupt or truncated") as error:
        data.read_images(path)
    assert str(path) in str(error.value)


def test_not_gzip_at_all(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match="cannot read"):
        data.read_images(path)


def test_wrong_kind_of_file(tmp_path):
    labels = write_idx(tmp_path / "labels", np.zeros(5, np.uint8), compress=False)
    with pytest.raises(DataError, match="expected images of 28x28"):
        data.read_images(labels)
    small = write_idx(tmp_path / "small", np.zeros((5, 14, 14), np.uint8), compress=False)
    with pytest.raises(DataError, match="expected images of 28x28"):
        data.read_images(small)
    images = write_idx(tmp_path / "images", np.zeros((5, 28, 28), np.uint8), compress=False)
    with pytest.raises(DataError, match="expected labels"):
        data.read_labels(images)


def test_labels_outside_0_to_9(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([1, 2, 10, 3], np.uint8), compress=False)
    with pytest.raises(DataError, match="label 10 at index 2 is outside 0..9"):
        data.read_labels(path)


def test_counts_must_agree(tmp_path):
    write_mnist(tmp_path, n_train=5010, n_test=20, compress=False)
    write_idx(tmp_path / NAMES["test_labels"], np.zeros(19, np.uint8), compress=False)
    with pytest.raises(DataError, match="holds 20 images but .* holds 19 labels"):
        data.load_mnist(tmp_path)


def test_too_few_training_images_for_the_validation_split(tmp_path):
    write_mnist(tmp_path, n_train=100, n_test=20, compress=False)
    with pytest.raises(DataError, match="needs more than 5000"):
        data.load_mnist(tmp_path)


def test_missing_files_are_listed(tmp_path):
    write_mnist(tmp_path, n_train=5010, n_test=20)
    (tmp_path / (NAMES["test_labels"] + ".gz")).unlink()
    with pytest.raises(DataError, match=r"lacks t10k-labels-idx1-ubyte\[\.gz\]"):
        data.load_mnist(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        data.load_mnist(tmp_path / "nowhere")


def test_no_data_and_failed_download_gives_one_clear_message(tmp_path, monkeypatch):
    """Without a folder, without ./data and without network: where to put the files."""
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error Name or service not known>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError) as error:
        data.load_mnist(None, download_root=tmp_path / "data")
    message = str(error.value)
    assert "\n" not in message
    assert "Name or service not known" in message and "--data-dir" in message and "MNIST_DIR" in message
    assert not (tmp_path / "data").exists()  # nothing half-downloaded left behind, not even an empty ./data


def test_files_copied_into_a_folder_inside_data_are_named_when_not_found(tmp_path, monkeypatch):
    """The files copied by hand into ./data/mnist (as the README's GPU section suggests) are not where
    the programs look without --data-dir: the message says where they are and the flag that reads them."""
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("<urlopen error Name or service not known>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    monkeypatch.chdir(tmp_path)
    write_mnist(tmp_path / "data" / "mnist", n_train=5010, n_test=20)
    with pytest.raises(DataError) as error:
        data.load_mnist(None, download_root=__import__("pathlib").Path("data"))
    message = str(error.value)
    assert "\n" not in message and "Name or service not known" in message
    assert "data/mnist holds them: pass --data-dir data/mnist or set MNIST_DIR=data/mnist" in message
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["mnist"]  # nothing else left there


def test_download_lands_in_torchvision_layout_all_or_nothing(tmp_path, monkeypatch):
    import torchvision

    class FakeMNIST:  # writes what torchvision's download writes
        def __init__(self, root, train, download):
            write_mnist(__import__("pathlib").Path(root), n_train=5010, n_test=20, layout="torchvision")

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    root = tmp_path / "data"
    mnist = data.load_mnist(None, download_root=root)
    assert len(mnist.test) == 20
    assert sorted(p.name for p in root.iterdir()) == ["MNIST"]  # the temporary folder is gone
    assert data.has_files(root)


def test_an_earlier_download_is_used_without_network(tmp_path, monkeypatch):
    import torchvision

    write_mnist(tmp_path / "data", n_train=5010, n_test=20, layout="torchvision")
    monkeypatch.setattr(torchvision.datasets, "MNIST", None)  # any download attempt would fail
    assert len(data.load_mnist(None, download_root=tmp_path / "data").val) == 5000


def test_batches_cover_every_example_once_in_a_seeded_order():
    batches = data.shuffled_batches(1000, 128, seed=3, epoch=0)
    assert [len(b) for b in batches] == [128] * 7 + [104]
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(1000))
    again = data.shuffled_batches(1000, 128, seed=3, epoch=0)
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    assert not torch.equal(torch.cat(batches), torch.cat(data.shuffled_batches(1000, 128, seed=3, epoch=1)))
    assert not torch.equal(torch.cat(batches), torch.cat(data.shuffled_batches(1000, 128, seed=4, epoch=0)))


def test_real_mnist_files(mnist_dir):
    mnist = data.load_mnist(mnist_dir)
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (55000, 5000, 10000)
    assert mnist.train.labels.bincount().tolist()[:3] == [5444, 6179, 5470]  # the official counts of 0, 1, 2
    assert mnist.test.labels[:5].tolist() == [7, 2, 1, 0, 4]
