"""Checkpoints: round trip, atomic writes, and every bad file refused with a clear reason."""

import os
import pickle

import pytest
import torch

from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.errors import CheckpointError
from lstm_mnist.checkpoint import Progress
from lstm_mnist.config import TrainConfig
from lstm_mnist.files import atomic_write


def written(path, model=None, **changes):
    model = model or LSTMClassifier(hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters())
    checkpoint = ckpt.make(model, optimizer, TrainConfig(), Progress(epoch=1), [{"event": "epoch", "epoch": 1}])
    checkpoint.update(changes)
    ckpt.save(path, checkpoint)
    return model


def test_round_trip_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "run.pt"
    model = written(path, LSTMClassifier(hidden_size=12, forget_bias=0.5, input_projection=True))
    loaded, checkpoint = ckpt.load_model(path)
    assert loaded.config == model.config
    images = torch.rand(3, 28, 28)
    torch.testing.assert_close(loaded(images), model(images), rtol=0, atol=0)
    assert checkpoint["train_config"]["batch_size"] == 128 and checkpoint["progress"]["epoch"] == 1
    assert set(checkpoint["versions"]) == {"lstm_mnist", "torch", "python"}


def test_only_plain_values_and_tensors_inside(tmp_path):
    path = tmp_path / "run.pt"
    written(path)
    torch.load(path, weights_only=True)  # raises if anything else were pickled


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "run.pt"
    path.write_bytes(b"old contents")

    def explode(f):
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, explode)
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["run.pt"]  # no temporary file left behind


def test_metrics_file_is_json_lines(tmp_path):
    path = ckpt.metrics_path(tmp_path / "run.pt")
    assert path.name == "run.metrics.jsonl"
    ckpt.write_metrics(path, [{"epoch": 1, "val_accuracy": 0.9}, {"event": "test"}])
    assert path.read_text() == '{"epoch": 1, "val_accuracy": 0.9}\n{"event": "test"}\n'


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        ckpt.load(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="is a folder"):
        ckpt.load(tmp_path)


@pytest.mark.parametrize("contents", [b"", b"garbage", b"hello, not a checkpoint", b"PK\x03\x04broken zip"])
def test_garbage_is_not_a_readable_checkpoint(tmp_path, contents):
    path = tmp_path / "bad.pt"
    path.write_bytes(contents)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        ckpt.load(path)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "run.pt"
    written(path)
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        ckpt.load(path)


def test_other_files_torch_can_read(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(LSTMClassifier(hidden_size=4).state_dict(), path)  # a bare state dict
    with pytest.raises(CheckpointError, match="not an lstm-mnist checkpoint"):
        ckpt.load(path)


def test_newer_format_version(tmp_path):
    path = tmp_path / "run.pt"
    written(path, version=ckpt.VERSION + 1)
    with pytest.raises(CheckpointError, match="newer than this lstm-mnist understands"):
        ckpt.load(path)


def test_another_architecture(tmp_path):
    path = tmp_path / "run.pt"
    written(path, model_config={"hidden_size": 8, "layers": 2})
    with pytest.raises(CheckpointError, match="another architecture"):
        ckpt.load_model(path)
    other = LSTMClassifier(hidden_size=16).state_dict()
    checkpoint = torch.load(path, weights_only=True)  # ckpt.load refuses it now, as it should
    checkpoint["model_config"] = {"hidden_size": 8, "forget_bias": 1.0, "input_projection": False,
                                  "normalize": True, "num_classes": 10, "input_size": 28}
    checkpoint["model"] = other
    ckpt.save(path, checkpoint)
    with pytest.raises(CheckpointError, match="weights do not fit"):
        ckpt.load_model(path)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("kind, says", [("sparse", r"is a sparse tensor \(sparse_coo\), not a dense one"),
                                        ("sparse_csr", r"is a sparse tensor \(sparse_csr\), not a dense one"),
                                        ("meta", r"holds no numbers \(a tensor on the meta device\)")])
def test_weights_without_dense_numbers_are_named(tmp_path, kind, says):
    """A weight of the right shape held sparse, or on the meta device, was refused in PyTorch's words
    (a 400-character 'While copying the parameter named ...'); now the weight and what it is are named."""
    path = tmp_path / "run.pt"
    written(path, LSTMClassifier(hidden_size=8))
    checkpoint = torch.load(path, weights_only=True)
    weight = checkpoint["model"]["cell.weight_hh"]
    checkpoint["model"]["cell.weight_hh"] = weight.to("meta") if kind == "meta" else getattr(weight, f"to_{kind}")()
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=f"cell.weight_hh {says}$"):
        ckpt.load_model(path)


def test_nan_weights(tmp_path):
    path = tmp_path / "run.pt"
    model = LSTMClassifier(hidden_size=8)
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    written(path, model)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        ckpt.load_model(path)


class Payload:
    """A pickle that runs code when loaded without weights_only."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = None


def test_malicious_pickle_is_refused_and_does_not_run(tmp_path):
    global MARKER
    MARKER = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "version": 1, "model_config": {}, "model": {}, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused"):
        ckpt.load(path)
    assert not MARKER.exists()
    with open(path, "wb") as f:  # a plain pickle too
        pickle.dump(Payload(), f)
    with pytest.raises(CheckpointError):
        ckpt.load(path)
    assert not MARKER.exists()


def test_saved_files_follow_the_umask_not_mkstemps_private_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        ckpt.write_metrics(tmp_path / "m.jsonl", [{"event": "test"}])
    finally:
        os.umask(previous)
    assert (tmp_path / "m.jsonl").stat().st_mode & 0o777 == 0o644  # readable by the class, as any saved file
