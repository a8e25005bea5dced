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
    data                count and SHA-256 of the training and validation images trained on
                        (older files lack it): a resume on other images is refused

A checkpoint of weights only (``model_config`` and ``model``) evaluates and predicts; resuming
needs the rest. Files are written through ``files.atomic_write``: a reader sees the old file or
the new one, never half of one.
"""

import dataclasses
from dataclasses import asdict, dataclass
import json
import pickle
import platform
import re
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import torch

from . import __version__
from .config import LR_MAX, LR_MIN, Field, TrainConfig
from .errors import CheckpointError, SettingError
from .evaluation import unfit_name
from .data import MAX_SEED, NUM_CLASSES
from .files import atomic_write, open_regular, shown
from .model import FIELDS, IMAGE_SIZE, MAX_HIDDEN_SIZE, ModelConfig, RecurrentClassifier, finite_in_float32
from .words import counted

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
         metrics: list[dict], class_names: tuple[str, ...] | None = None, data: dict | None = None) -> dict:
    """Everything needed to evaluate the model or resume training, as plain values (``data``: what it
    trains and validates on, ``training.data_fingerprint``)."""
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_config": asdict(model.config),
        "model": model.state_dict(),
        "optimizer": optimizer_state(optimizer),
        "train_config": asdict(config),
        "class_names": list(class_names) if class_names else None,
        "progress": asdict(progress),
        "rng": rng,
        "metrics": list(metrics),
        "versions": versions(),
    } | ({"data": data} if data is not None else {})


def optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """``optimizer.state_dict()`` as a plain Adam's, also after ``--cuda-graphs`` made it capturable
    (cuda_graph.py): learning rates as numbers, ``capturable`` off, step counts on the CPU, so that
    the checkpoint resumes with or without CUDA graphs, on any device."""
    state = optimizer.state_dict()
    # state_dict() hands out the optimizer's own per-parameter dicts: changed in place, the live Adam would
    # find its step counts on the CPU (and the graph would go on counting in tensors no longer its own)
    state["state"] = {index: dict(entry) for index, entry in state["state"].items()}
    for group in state["param_groups"]:
        if torch.is_tensor(group.get("lr")):
            group["lr"] = group["lr"].item()
        if group.get("capturable"):
            group["capturable"] = False
    for entry in state["state"].values():
        if torch.is_tensor(entry.get("step")) and entry["step"].device.type != "cpu":
            entry["step"] = entry["step"].to("cpu", torch.float32)
    return state


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


def files_beside(checkpoint_path: Path) -> tuple[Path, Path]:
    """What a training run writes beside its checkpoint: the metrics and the figure."""
    return metrics_path(checkpoint_path), figure_path(checkpoint_path)


MAX_UNPACKED = 2**30  # bytes the compressed parts of a zip archive may claim (torch.save compresses none)


def _check_archive(file: BinaryIO, path: Path) -> None:
    """``CheckpointError``, before torch.load reads the file, for a zip archive that is a TorchScript model
    (PyTorch 2.3 hands one to torch.jit.load, even with ``weights_only=True``, and returns the model: code,
    run when called), or one of whose parts does not match the CRC-32 stored with it: torch.load never
    compares them, so a file damaged midway (a bad copy, a failing disk) would load as a model with other
    weights. Only archives of stored parts, as torch.save writes them, are checked (reading each once);
    anything else is left to torch.load, and ``_damage``, to describe, but for compressed parts that claim
    more than ``MAX_UNPACKED`` bytes (from the archive's list of sizes: a 5 MB file can claim 20 GiB, which
    torch.load would unpack into memory until the system killed the process). After
    ``torch.serialization.set_crc32_options(False)`` torch.save stores 0 for every part: nothing to compare."""
    try:
        with zipfile.ZipFile(file) as archive:
            parts = archive.infolist()
            torchscript = any(p.filename.endswith("/constants.pkl") for p in parts)
            stored = all(p.compress_type == zipfile.ZIP_STORED for p in parts) and any(p.CRC for p in parts)
            unpacked = sum(p.file_size for p in parts if p.compress_type != zipfile.ZIP_STORED)
            bad = archive.testzip() if stored and not torchscript else None
    except Exception:  # noqa: BLE001 - not a zip archive, or one cut short: torch.load fails and says so
        torchscript, bad, unpacked = False, None, 0
    file.seek(0)
    if unpacked > MAX_UNPACKED:  # torch.load would unpack them all into memory first
        raise CheckpointError(f"{shown(path)}: its compressed parts claim {unpacked:,} bytes unpacked, more than the "
                              f"{MAX_UNPACKED:,} this reader accepts (a zip bomb?); torch.save writes its "
                              "parts uncompressed: use a checkpoint train.py wrote")
    if torchscript:
        raise CheckpointError(f"{shown(path)}: not a readable checkpoint (a TorchScript model (torch.jit.save): code "
                              "to run, not a checkpoint's weights)")
    if bad is not None:
        raise CheckpointError(f"{shown(path)}: damaged: its part {shown(bad)} does not match the checksum saved "
                              "with it (a bad copy, or a failing disk); copy it again, or use another checkpoint")


def _damage(path: Path) -> str:
    """What is wrong with a file torch.load could not read, in words: torch.save writes a zip archive."""
    try:
        with open(path, "rb") as f:
            start = f.read(4)
    except OSError as e:
        return e.strerror or "cannot be read"
    if not start:
        return "the file is empty"
    if start == b"PK\x03\x04":
        return _zip_damage(path)
    return "not a zip archive, the form torch.save writes"


def _zip_damage(path: Path) -> str:
    """What a zip archive torch.load could not read is: a whole one of something else (a checkpoint zipped
    again; a TorchScript model is refused before, by ``_check_archive``), or one cut short. Its list of
    names alone is read (the end of the file)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):  # its list of names is damaged or cut off
        return "a damaged or truncated zip archive"
    if not any(name.endswith("/data.pkl") for name in names):
        listed = ", ".join(shown(name) for name in names[:3]) + (", ..." if len(names) > 3 else "")
        return f"a zip archive of other files ({listed or 'none'}), not one torch.save writes; unzip it first?"
    return "a damaged zip archive"


def load(path: Path | str, map_location: torch.device | str = "cpu") -> dict:
    """Read and check a checkpoint; raise ``CheckpointError`` with a one-line reason."""
    path = Path(path)
    try:
        with open_regular(path, CheckpointError, "checkpoint") as file, warnings.catch_warnings():
            _check_archive(file, path)
            warnings.simplefilter("ignore")  # torch warns about odd pickles; we say what is wrong ourselves
            checkpoint = torch.load(file, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as e:
        # a class or function to call: code, not data ("Unsupported global"; PyTorch 2.3: "Unsupported class")
        if re.search(r"unsupported (global|class)", str(e), re.IGNORECASE):
            raise CheckpointError(
                f"{shown(path)}: refused: it holds Python objects other than tensors and plain values, which could run "
                "code when loaded; it was not written by lstm-mnist"
            ) from None
        raise CheckpointError(f"{shown(path)}: not a readable checkpoint ({_damage(path)})") from None
    except Exception:  # noqa: BLE001 - torch.load raises many types (and long texts) for a damaged file
        raise CheckpointError(f"{shown(path)}: not a readable checkpoint ({_damage(path)})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{shown(path)}: not an lstm-mnist checkpoint (no '{FORMAT}' marker)")
    version = checkpoint.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{shown(path)}: unknown checkpoint format version {version!r}; the file is damaged")
    if version > VERSION:
        raise CheckpointError(
            f"{shown(path)}: checkpoint format version {version!r} is newer than this lstm-mnist understands "
            f"({VERSION}); upgrade lstm-mnist"
        )
    validate(checkpoint, path)
    return checkpoint


# --- what a checkpoint must hold: its schema ----------------------------------------------
#
# Policy for files of other versions: a field this version does not know (a newer version's
# addition) is ignored when the weights are used (evaluate, predict, inspect) but makes
# ``check_resumable`` refuse, since training on without it would not be the run it was. A
# known field must have its type and range wherever it appears.


WHOLE, POSITIVE, NONE = (int,), (lambda v: v >= 1), type(None)
MODEL_SCHEMA = FIELDS | {  # ModelConfig's own rules, with MNIST's sizes: a model may be any size, a checkpoint's not
    "hidden_size": Field(WHOLE, f"a whole number from 1 to {MAX_HIDDEN_SIZE:,}", lambda v: 1 <= v <= MAX_HIDDEN_SIZE),
    "num_classes": Field(WHOLE, f"{NUM_CLASSES} (MNIST's classes)", lambda v: v == NUM_CLASSES),
    "input_size": Field(WHOLE, f"{IMAGE_SIZE} (pixels per row)", lambda v: v == IMAGE_SIZE),
}
TRAIN_SCHEMA = {
    "epochs": Field((int, NONE), "a whole number >= 1 or None", lambda v: v is None or v >= 1),
    "train_samples": Field((int, NONE), "a whole number >= 1 or None", lambda v: v is None or v >= 1),
    "batch_size": Field(WHOLE, "a whole number >= 1", POSITIVE),
    "lr": Field((int, float), f"a number from {LR_MIN:g} to {LR_MAX:g}",
                lambda v: finite_in_float32(v) and LR_MIN <= v <= LR_MAX),
    "lr_schedule": Field((str,), "cosine or constant", lambda v: v in ("cosine", "constant")),
    "clip_grad_norm": Field((int, float, NONE), "a finite number > 0 or None",
                            lambda v: v is None or (finite_in_float32(v) and v > 0)),
    "augment": Field((bool,), "True or False"),
    "init": Field((str,), "pytorch, normal or normal-bias0.1", lambda v: v in ("pytorch", "normal", "normal-bias0.1")),
    "seed": Field(WHOLE, f"a whole number from 0 to {MAX_SEED}", lambda v: 0 <= v <= MAX_SEED),
    "limit_train": Field((int, NONE), "a whole number >= 1 or None", lambda v: v is None or v >= 1),
    "validation_size": Field(WHOLE, "a whole number >= 1", POSITIVE),
    "preset": Field((str, NONE), "a preset's name or None"),
}
LEGACY_TRAIN = {"class_names": Field((list, tuple, NONE), "a list of names or None")}  # before version 0.3
PROGRESS_SCHEMA = {
    "epoch": Field(WHOLE, "a whole number >= 0", lambda v: v >= 0),
    "step": Field(WHOLE, "a whole number >= 0", lambda v: v >= 0),
    "loss_sum": Field((int, float), "a finite number", finite_in_float32),
    "correct": Field(WHOLE, "a whole number >= 0", lambda v: v >= 0),
    "seen": Field(WHOLE, "a whole number >= 0", lambda v: v >= 0),
    "seconds": Field((int, float), "a finite number >= 0", lambda v: finite_in_float32(v) and v >= 0),
}
SECTIONS = {"train_config": TRAIN_SCHEMA | LEGACY_TRAIN, "progress": PROGRESS_SCHEMA}
DATA_SCHEMA = {  # each of data.train and data.validation: what training.data_fingerprint records
    "n": Field(WHOLE, "a whole number >= 1", POSITIVE),
    "sha256": Field((str,), "64 hexadecimal digits", lambda v: re.fullmatch(r"[0-9a-f]{64}", v) is not None),
}
OPTIONAL = {"optimizer": dict, "rng": dict, "metrics": list, "versions": dict,  # a weights-only file lacks them
            "class_names": (list, tuple, NONE), "data": dict}  # data: older files lack it


def _field_problems(section: str, stored: dict, schema: dict[str, Field], required: bool) -> list[str]:
    """One line for each known field of ``stored`` that is missing (if ``required``) or wrong."""
    problems = []
    for name, field in schema.items():
        if name not in stored:
            if required:
                problems.append(f"{section}.{name} is missing")
        elif not field.fits(stored[name]):
            problems.append(f"{section}.{name} is {stored[name]!r:.60}, expected {field.meaning}")
    return problems


def check_train_config(config: TrainConfig) -> None:
    """Refuse, before any work, settings that ``train`` and ``fit`` would run with and write into a checkpoint that
    ``load`` then refuses (TRAIN_SCHEMA): ``epochs=0`` trained nothing and recorded the untrained model's test
    result, ``lr=0`` trained nothing, ``seed=-1`` trained. A ``SettingError`` names the field as the caller set it."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"expected a TrainConfig, got {type(config).__name__}: TrainConfig(epochs=..., ...)")
    for name, field in TRAIN_SCHEMA.items():
        if not field.fits(getattr(config, name)):
            raise SettingError(name, getattr(config, name), f"expected {field.meaning}")
    if config.epochs is None and config.train_samples is None:
        raise SettingError("epochs", None, "give epochs or train_samples: one of them sets the run's length")


def validate(checkpoint: dict, path: Path | str = "checkpoint") -> None:
    """Check a loaded checkpoint's structure and types against the schema above: the model
    config, the weights' names and shapes against it, the class names, and each optional
    section that is present. Raises ``CheckpointError`` with one line per problem."""
    problems = []
    stored = checkpoint.get("model_config")
    if not isinstance(stored, dict):
        problems.append("incomplete checkpoint: 'model_config' is missing" if stored is None
                        else f"model_config is a {type(stored).__name__}, expected a dict")
    elif set(stored) - set(MODEL_SCHEMA):
        problems.append(f"the checkpoint describes another architecture (model config keys {sorted(stored)}, "
                        f"expected {sorted(MODEL_SCHEMA)})")
    else:
        problems += _field_problems("model_config", {"cell": "lstm"} | stored, MODEL_SCHEMA, required=True)
    if not isinstance(checkpoint.get("model"), dict):
        problems.append("incomplete checkpoint: 'model' (the weights) is missing or not a state dict")
    elif not problems:
        problems += _weight_problems(checkpoint["model"], model_config(checkpoint, path))
    for section, schema in SECTIONS.items():
        if section in checkpoint and not isinstance(checkpoint[section], dict):
            problems.append(f"{section} is a {type(checkpoint[section]).__name__}, expected a dict")
        elif section in checkpoint:
            problems += _field_problems(section, checkpoint[section], schema, required=False)
    for key, kind in OPTIONAL.items():
        if key in checkpoint and not isinstance(checkpoint[key], kind):
            what = "a list of names or None" if key == "class_names" else f"a {kind.__name__}"
            problems.append(f"{key} is a {type(checkpoint[key]).__name__}, expected {what}")
    if isinstance(checkpoint.get("metrics"), list) and not all(_is_record(m) for m in checkpoint["metrics"]):
        problems.append('metrics holds records that are not {"event": "log", "epoch" or "test", "epoch": N, ...}')
    problems += _class_name_problems(checkpoint) + _data_problems(checkpoint.get("data"))
    if problems:
        raise CheckpointError("\n".join(f"{shown(path)}: {problem}" for problem in problems))


def _data_problems(data) -> list[str]:
    """What is wrong in the record of the images trained on (``data``), if the checkpoint has one."""
    if not isinstance(data, dict):
        return []  # none (an older file), or not a dict: said with the OPTIONAL keys
    problems = []
    for part in ("train", "validation"):
        if part in data and not isinstance(data[part], dict):
            problems.append(f"data.{part} is a {type(data[part]).__name__}, expected a dict")
        elif part in data:
            problems += _field_problems(f"data.{part}", data[part], DATA_SCHEMA, required=True)
    return problems


def _is_record(record) -> bool:
    """A metrics record as training writes it: its event and the epoch it belongs to."""
    return (isinstance(record, dict) and record.get("event") in ("log", "epoch", "test")
            and isinstance(record.get("epoch"), int) and not isinstance(record.get("epoch"), bool))


def _weight_problems(state: dict, config: ModelConfig) -> list[str]:
    """The weights against the tensors the config's model has."""
    expected = _meta_model(config).state_dict()
    wrong = [f"{name} is missing" for name in expected if name not in state]
    wrong += [f"{name} is not one of its weights" for name in state if name not in expected]
    for name, tensor in state.items():
        if name not in expected:
            continue
        if not torch.is_tensor(tensor) or not tensor.is_floating_point():
            wrong.append(f"{name} is not a floating-point tensor")
        elif tensor.layout != torch.strided:  # sparse: a dense weight cannot be copied from it
            wrong.append(f"{name} is a sparse tensor ({str(tensor.layout).removeprefix('torch.')}), not a dense one")
        elif tensor.is_meta:  # a shape without numbers, as torch.device('meta') builds
            wrong.append(f"{name} holds no numbers (a tensor on the meta device)")
        elif tensor.shape != expected[name].shape:
            wrong.append(f"{name} has shape {tuple(tensor.shape)}, the config needs {tuple(expected[name].shape)}")
    if not wrong:
        return []
    more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
    return [f"the weights do not fit the model its config describes (another architecture?): "
            f"{'; '.join(wrong[:3])}{more}"]


def _meta_model(config: ModelConfig) -> RecurrentClassifier:
    """The model ``config`` describes, built on the meta device: its tensors' names and shapes,
    no memory (MODEL_SCHEMA's bound on hidden_size keeps their sizes countable)."""
    with torch.device("meta"):
        return RecurrentClassifier(config)


def _class_name_problems(checkpoint: dict) -> list[str]:
    train = checkpoint.get("train_config")
    where = "class_names" if checkpoint.get("class_names") is not None else "train_config.class_names"
    names = checkpoint.get("class_names")
    if names is None and isinstance(train, dict):
        names = train.get("class_names")  # where checkpoints before version 0.3 kept them
    if not isinstance(names, (list, tuple)):
        return []
    if not all(isinstance(name, str) for name in names):
        return [f"{where} holds a name that is not text"]
    unfit = [f"name {k} {unfit_name(name)}" for k, name in enumerate(names) if unfit_name(name)]
    if unfit:
        return [f"{where}: {unfit[0]}"]
    problems = []
    config = checkpoint.get("model_config")
    count = config.get("num_classes") if isinstance(config, dict) else None
    if isinstance(count, int) and len(names) != count:
        problems.append(f"{where} has {counted(len(names), 'name')} for a model of "
                        f"{counted(count, 'class', 'classes')}")
    if len(set(names)) != len(names):
        problems.append(f"{where} names a class twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return problems


def model_config(checkpoint: dict, path: Path | str = "checkpoint") -> ModelConfig:
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    stored = checkpoint["model_config"]
    if "cell" not in stored and set(stored) == fields - {"cell"}:
        stored = stored | {"cell": "lstm"}  # written before ModelConfig.cell existed: always an LSTM
    if set(stored) != fields:
        raise CheckpointError(
            f"{shown(path)}: the checkpoint describes another architecture (model config keys {sorted(stored)}, "
            f"expected {sorted(fields)})"
        )
    return ModelConfig(**stored)


def build_model(checkpoint: dict, path: Path | str = "checkpoint") -> RecurrentClassifier:
    """The model the checkpoint describes, with its weights (on the CPU)."""
    config = model_config(checkpoint, path)
    try:
        model = RecurrentClassifier(config)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{shown(path)}: the stored model config {config} is not valid ({e})") from None
    state = checkpoint["model"]
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(
            f"{shown(path)}: the weights do not fit the model its config describes (another architecture?): "
            f"{' '.join(s.strip() for s in first[:2])}"
        ) from None
    for name, tensor in state.items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{shown(path)}: weight {name} holds NaN or infinite values; the training that "
                                  "wrote it diverged")
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
    """Whether the run that wrote the checkpoint got as far as its test evaluation, where it stands now:
    a finished run extended (``--resume --epochs`` larger) keeps its old test record, before the new epochs."""
    ends = [record.get("event") for record in checkpoint.get("metrics", []) if record.get("event") in ("epoch", "test")]
    return bool(ends) and ends[-1] == "test" and (checkpoint.get("progress") or {}).get("step", 0) == 0


def unfinished(checkpoint: dict) -> str | None:
    """Where the run that wrote a resumable checkpoint stopped, in words, if it stopped before its test
    evaluation ("stopped after 1 of its 3 epochs", "stopped in epoch 2 of 3, after 5 steps"), else None:
    its weights are those of a model still in training."""
    if not isinstance(checkpoint.get("progress"), dict) or finished(checkpoint):
        return None
    done, epochs = progress(checkpoint), (checkpoint.get("train_config") or {}).get("epochs")
    of = f" of {epochs}" if isinstance(epochs, int) else ""
    if done.step:
        return f"stopped in epoch {done.epoch + 1}{of}, after {counted(done.step, 'step')}"
    if done.epoch and done.epoch == epochs:
        return f"stopped after its last epoch, {done.epoch}, before its test evaluation"
    return f"stopped after epoch {done.epoch}{of}" if done.epoch else "stopped before training"


def check_resumable(checkpoint: dict, path: Path | str = "checkpoint") -> None:
    """Raise ``CheckpointError`` with a one-line reason if training cannot continue exactly from
    this (validated) checkpoint: a weights-only file, another version's training state, or an
    optimizer state that does not fit the weights."""
    missing = [key for key in ("train_config", "progress", "optimizer", "rng") if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{shown(path)}: cannot be resumed: it holds the weights only (no {', '.join(missing)}); it still "
            "evaluates and predicts; to train on, start a new run with --out")
    for section, schema in SECTIONS.items():  # a field it lacks (an older file's) takes its default
        unknown = sorted(set(checkpoint[section]) - set(schema))
        if unknown:
            raise CheckpointError(
                f"{shown(path)}: cannot be resumed by this lstm-mnist: its {section} has fields it does not know "
                f"({', '.join(map(str, unknown))}), written by a newer version; it still evaluates and predicts")
    state, like = checkpoint["rng"].get("torch"), torch.get_rng_state()
    if not torch.is_tensor(state) or state.dtype != like.dtype or state.shape != like.shape:
        raise CheckpointError(f"{shown(path)}: cannot be resumed: rng.torch is not a random-number state")
    cuda = checkpoint["rng"].get("cuda", [])
    if not isinstance(cuda, (list, tuple)) or not all(torch.is_tensor(t) and t.dtype == torch.uint8 for t in cuda):
        raise CheckpointError(f"{shown(path)}: cannot be resumed: rng.cuda is not a list of random-number states")
    progress = checkpoint["progress"]  # validated: whole numbers
    trained = progress.get("epoch", 0) > 0 or progress.get("step", 0) > 0
    problem = _optimizer_problem(checkpoint["optimizer"], model_config(checkpoint, path), trained)
    if problem:
        raise CheckpointError(f"{shown(path)}: cannot be resumed: {problem}")


def _optimizer_problem(optimizer: dict, config: ModelConfig, trained: bool) -> str | None:
    """Why Adam's state does not fit the model's parameters (``trained``: after a step, when Adam
    holds moments for every one of them), or None."""
    shapes = [p.shape for p in _meta_model(config).parameters()]
    groups, state = optimizer.get("param_groups"), optimizer.get("state")
    if not isinstance(groups, list) or not isinstance(state, dict) or not all(isinstance(g, dict) for g in groups):
        return "its optimizer state is not Adam's (param_groups, state)"
    params = [i for g in groups for i in (g.get("params") if isinstance(g.get("params"), list) else [None])]
    if sorted(params, key=str) != list(range(len(shapes))):
        return f"its optimizer holds {counted(len(params), 'parameter')}, the model has {len(shapes)}"
    for index, entry in state.items():
        if not isinstance(index, int) or not 0 <= index < len(shapes) or not isinstance(entry, dict):
            return f"its optimizer state has an entry {index!r:.20} that is no parameter of the model"
        for moment in ("exp_avg", "exp_avg_sq"):
            if not torch.is_tensor(entry.get(moment)) or entry[moment].shape != shapes[index]:
                return f"its optimizer's {moment} of parameter {index} does not fit the parameter's shape"
    if trained and len(state) != len(shapes):
        return (f"its optimizer holds Adam's moments for {len(state)} of the {counted(len(shapes), 'parameter')}, "
                "after training "
                "began: the run could not continue exactly")
    return None


def other_data(checkpoint: dict, now: dict) -> list[tuple[str, dict, dict]]:
    """The parts ("train", "validation") of the data the checkpoint's run used that differ from ``now``
    (``training.data_fingerprint``), each with its record then and now; none for a checkpoint that
    kept no record of its data (written by an older lstm-mnist)."""
    then = checkpoint.get("data") or {}
    return [(part, then[part], now[part]) for part in ("train", "validation")
            if isinstance(then.get(part), dict) and then[part] != now[part]]


def restore(checkpoint: dict, optimizer: torch.optim.Optimizer, device: torch.device) -> tuple[Progress, list[dict]]:
    """Put a resumable checkpoint's optimizer and random states back; return where it stopped
    and the metrics so far. (The model itself comes from ``build_model``.)"""
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    if device.type == "cuda" and "cuda" in checkpoint["rng"]:
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    return progress(checkpoint), list(checkpoint.get("metrics", []))
