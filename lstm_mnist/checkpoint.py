"""Checkpoints: plain values and state dicts, written atomically, read safely.

A checkpoint is a dict of strings, numbers, lists, dicts and tensors only, so it loads
with ``torch.load(..., weights_only=True)``, which refuses to run code hidden in a pickle.
It holds everything needed to evaluate the model or resume training exactly:

    format, version     what this file is ("lstm-mnist-checkpoint", 1)
    model_config        the ModelConfig fields: the model is rebuilt from them
    model, optimizer    state dicts
    train_config        the TrainConfig fields
    progress            epoch and step reached, running totals of an unfinished epoch
    rng                 torch's CPU (and CUDA) random states
    metrics             the running loss every log interval, one dict per finished epoch,
                        then the final test result
    versions            of lstm-mnist, torch, Python, at the time of writing

Writing goes to a temporary file in the same folder, which is flushed to disk and then
renamed over the target (``os.replace``): a reader sees the old file or the new one, never
half of one, whenever the writer stops.
"""

import dataclasses
import json
import os
import pickle
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import CheckpointError
from .model import LSTMClassifier, ModelConfig

FORMAT = "lstm-mnist-checkpoint"
VERSION = 1


def versions() -> dict[str, str]:
    return {"lstm_mnist": __version__, "torch": str(torch.__version__), "python": platform.python_version()}


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it private; a saved file is not
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename is still atomic


def current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files that an earlier writer of ``path`` left when it was killed
    mid-write (``.NAME.*.tmp`` beside it). Returns what was removed."""
    path = Path(path)
    stale = list(path.parent.glob(f".{path.name}.*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def save(path: Path, checkpoint: dict) -> None:
    atomic_write(path, lambda f: torch.save(checkpoint, f))


def write_metrics(path: Path, metrics: list[dict]) -> None:
    """The metrics as JSON lines, one record a line, written atomically."""
    text = "".join(json.dumps(record) + "\n" for record in metrics)
    atomic_write(path, lambda f: f.write(text.encode()))


def metrics_path(checkpoint_path: Path) -> Path:
    """``run.pt`` -> ``run.metrics.jsonl``, beside the checkpoint."""
    return Path(checkpoint_path).with_suffix(".metrics.jsonl")


def figure_path(checkpoint_path: Path) -> Path:
    """``run.pt`` -> ``run.training.png``, beside the checkpoint: its loss and accuracy curves."""
    return Path(checkpoint_path).with_suffix(".training.png")


def load(path: Path | str, map_location: torch.device | str = "cpu") -> dict:
    """Read and check a checkpoint; raise ``CheckpointError`` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles; we say what is wrong ourselves
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "unsupported global" in str(e).lower():  # a class or function to call: code, not data
            raise CheckpointError(
                f"{path}: refused: it holds Python objects other than tensors and plain values, which could run "
                "code when loaded; it was not written by lstm-mnist"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated)") from None
    except Exception as e:  # noqa: BLE001 - torch.load raises many types for a damaged file
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated: {reason})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an lstm-mnist checkpoint (no '{FORMAT}' marker)")
    version = checkpoint.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format version {version!r}; the file is damaged")
    if version > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} is newer than this lstm-mnist understands ({VERSION}); "
            "upgrade lstm-mnist"
        )
    for key in ("model_config", "model"):
        if not isinstance(checkpoint.get(key), dict):
            raise CheckpointError(f"{path}: incomplete checkpoint: '{key}' is missing")
    return checkpoint


def model_config(checkpoint: dict, path: Path | str = "checkpoint") -> ModelConfig:
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    stored = checkpoint["model_config"]
    if "cell" not in stored and set(stored) == fields - {"cell"}:
        stored = stored | {"cell": "lstm"}  # written before ModelConfig.cell existed: always an LSTM
    if set(stored) != fields:
        raise CheckpointError(
            f"{path}: the checkpoint describes another architecture (model config keys {sorted(stored)}, "
            f"expected {sorted(fields)})"
        )
    return ModelConfig(**stored)


def build_model(checkpoint: dict, path: Path | str = "checkpoint") -> LSTMClassifier:
    """The model the checkpoint describes, with its weights (on the CPU)."""
    config = model_config(checkpoint, path)
    try:
        model = LSTMClassifier.from_config(config)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: the stored model config {config} is not valid ({e})") from None
    state = checkpoint["model"]
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(
            f"{path}: the weights do not fit the model its config describes (another architecture?): "
            f"{' '.join(s.strip() for s in first[:2])}"
        ) from None
    for name, tensor in state.items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: weight {name} holds NaN or infinite values; the training that wrote it diverged")
    return model


def load_model(path: Path | str, device: torch.device | str = "cpu") -> tuple[LSTMClassifier, dict]:
    """Rebuild the model stored in a checkpoint, on ``device``; also return the checkpoint."""
    checkpoint = load(path, map_location="cpu")
    model = build_model(checkpoint, path).to(device)
    return model, checkpoint
