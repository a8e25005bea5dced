"""Checkpoints: their whole life in one place: made, written atomically, read safely,
checked, and turned back into a model or a training run.

A checkpoint is a dict of strings, numbers, lists, dicts and tensors only, so it loads
with ``torch.load(..., weights_only=True)``, which refuses to run code hidden in a pickle.
It holds everything needed to evaluate the model or resume training exactly:

    format, version     what this file is ("lstm-mnist-checkpoint", 1)
    model_config        the ModelConfig fields: the model is rebuilt from them
    model, optimizer    state dicts
    train_config        the TrainConfig fields
    class_names         what each label means (None: the digits "0" to "9")
    progress            epoch and step reached, running totals of an unfinished epoch
    rng                 torch's CPU (and CUDA) random states
    metrics             the running loss every log interval, one dict per finished epoch,
                        then the final test result
    versions            of lstm-mnist, torch, Python, at the time of writing

A checkpoint of weights only (``model_config`` and ``model``) evaluates and predicts; resuming
needs the rest. Files are written through ``files.atomic_write``: a reader sees the old file or
the new one, never half of one.
"""

import dataclasses
from dataclasses import asdict, dataclass
import json
import pickle
import platform
import warnings
from pathlib import Path

import torch

from . import __version__
from .config import TrainConfig
from .errors import CheckpointError
from .files import atomic_write
from .model import ModelConfig, RecurrentClassifier

FORMAT = "lstm-mnist-checkpoint"
VERSION = 1


def versions() -> dict[str, str]:
    return {"lstm_mnist": __version__, "torch": str(torch.__version__), "python": platform.python_version()}


@dataclass
class Progress:
    """How far training has got: enough to resume at exactly this point."""

    epoch: int = 0  # epochs finished
    step: int = 0  # batches finished in the epoch under way
    loss_sum: float = 0.0  # running totals over those batches
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0  # training time spent in the epoch under way


def make(model: RecurrentClassifier, optimizer: torch.optim.Optimizer, config: TrainConfig, progress: Progress,
         metrics: list[dict], class_names: tuple[str, ...] | None = None) -> dict:
    """Everything needed to evaluate the model or resume training, as plain values."""
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_config": asdict(model.config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "train_config": asdict(config),
        "class_names": list(class_names) if class_names else None,
        "progress": asdict(progress),
        "rng": rng,
        "metrics": list(metrics),
        "versions": versions(),
    }


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


def build_model(checkpoint: dict, path: Path | str = "checkpoint") -> RecurrentClassifier:
    """The model the checkpoint describes, with its weights (on the CPU)."""
    config = model_config(checkpoint, path)
    try:
        model = RecurrentClassifier(config)
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


def load_model(path: Path | str, device: torch.device | str = "cpu") -> tuple[RecurrentClassifier, dict]:
    """Rebuild the model stored in a checkpoint, on ``device``; also return the checkpoint."""
    checkpoint = load(path, map_location="cpu")
    model = build_model(checkpoint, path).to(device)
    return model, checkpoint


def class_names(checkpoint: dict) -> tuple[str, ...] | None:
    """What the checkpoint's labels mean (train.py --class-names), or None for the digits.
    (Checkpoints written before version 0.3 kept them in ``train_config``.)"""
    names = checkpoint.get("class_names")
    if names is None:
        names = (checkpoint.get("train_config") or {}).get("class_names")
    return tuple(names) if names else None


def train_config(checkpoint: dict) -> TrainConfig:
    """The stored TrainConfig (fields that this version does not know are dropped: an older
    checkpoint's ``class_names`` now lives beside it)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in checkpoint["train_config"].items() if k in known})


def validation_size(checkpoint: dict) -> int:
    """How many of the first training images the run held out for validation (the seeds' 5,000
    for checkpoints of weights only, or written before the size could be chosen)."""
    size = (checkpoint.get("train_config") or {}).get("validation_size")
    return size if isinstance(size, int) and size > 0 else TrainConfig().validation_size


def progress(checkpoint: dict) -> Progress:
    return Progress(**checkpoint["progress"])


def finished(checkpoint: dict) -> bool:
    """Whether the run that wrote the checkpoint got as far as its test evaluation."""
    return any(record.get("event") == "test" for record in checkpoint.get("metrics", []))


def check_resumable(checkpoint: dict, path: Path | str = "checkpoint") -> None:
    """Raise ``CheckpointError`` if the checkpoint lacks what resuming needs (a checkpoint of
    weights only evaluates and predicts, but holds no optimizer state to continue from)."""
    missing = [key for key in ("train_config", "progress", "optimizer", "rng") if not isinstance(checkpoint.get(key), dict)]
    if missing:
        raise CheckpointError(
            f"{path}: cannot be resumed: it holds the weights but no {', '.join(missing)} (a checkpoint "
            "for evaluation only); start a new run instead"
        )


def restore(checkpoint: dict, optimizer: torch.optim.Optimizer, device: torch.device) -> tuple[Progress, list[dict]]:
    """Put a resumable checkpoint's optimizer and random states back; return where it stopped
    and the metrics so far. (The model itself comes from ``build_model``.)"""
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    if device.type == "cuda" and "cuda" in checkpoint["rng"]:
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    return progress(checkpoint), list(checkpoint.get("metrics", []))
