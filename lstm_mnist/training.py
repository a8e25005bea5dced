"""The training loop: Adam on mean cross-entropy over shuffled mini-batches.

Nothing here is specific to the LSTM: ``fit`` trains any ``nn.Module`` that maps a batch of
images to logits. It evaluates on the validation split after every epoch and on the test
split at the end, writes a checkpoint (and the metrics file beside it) after every epoch,
and stops cleanly on Ctrl-C or SIGTERM: the current step finishes, a checkpoint of the
exact point reached is written, and ``TrainingInterrupted`` says how to resume. A second
Ctrl-C stops at once; the checkpoint on disk is then the last one written, intact.

Resuming is exact: the order of the batches depends only on (seed, epoch), the learning rate
and the augmentation only on the step, and the checkpoint holds the model, Adam's state and
the running totals of an unfinished epoch. Under ``torchrun`` every process draws the same
global batches and trains on its shard of each (see distributed.py); in one process that
code does nothing.
"""

import math
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from . import checkpoint as ckpt
from . import distributed
from .data import MNIST, random_affine, shuffled_batches
from .errors import LSTMMnistError
from .evaluation import evaluate


@dataclass(frozen=True)
class TrainConfig:
    """How to train; stored in every checkpoint. The seeds' settings, except for the learning
    rate: 3e-3 decayed to 0 along a cosine reaches 98% in 3 epochs; the seeds' 1e-3, constant,
    reaches about 97%."""

    epochs: int | None = 3  # passes over the training split (None: train_samples sets the length)
    train_samples: int | None = None  # or the seeds' count: steps while step * batch_size < N, from step 1
    batch_size: int = 128
    lr: float = 3e-3  # Adam's learning rate at the first step (the seeds: 1e-3, constant)
    lr_schedule: str = "cosine"  # "cosine": decays to 0 over all steps; "constant": as the seeds
    clip_grad_norm: float | None = None  # rescale gradients whose total norm exceeds this
    augment: bool = False  # random small rotations, scalings and shifts of the training images
    init: str = "pytorch"  # head and projection: "pytorch", "normal" or "normal-bias0.1" (the seeds)
    seed: int = 0  # drives the initial weights, the order of the batches and the augmentation
    limit_train: int | None = None  # train on the first N training images only
    preset: str | None = None  # the preset these settings started from, if any (see presets.py)
    class_names: tuple[str, ...] | None = None  # what the 10 labels mean, for reports (None: the digits)


@dataclass
class Progress:
    """How far training has got: enough to resume at exactly this point."""

    epoch: int = 0  # epochs finished
    step: int = 0  # batches finished in the epoch under way
    loss_sum: float = 0.0  # running totals over those batches
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0  # training time spent in the epoch under way


class TrainingInterrupted(LSTMMnistError):
    """Ctrl-C or SIGTERM stopped training; a checkpoint of the point reached was written."""


class TrainingDiverged(LSTMMnistError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


class StopSignals:
    """Within ``with StopSignals() as stop:``, the first Ctrl-C or SIGTERM sets ``stop.requested``
    (the loop finishes its step and saves); a second one raises KeyboardInterrupt at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write(f"\n{signal.Signals(signum).name}: stopping after this step (press Ctrl-C again to quit at once)")

    def __enter__(self):
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def make_deterministic() -> None:
    """Ask for bit-reproducible kernels. On the CPU the kernels this model uses are already
    deterministic, so this changes nothing there; on CUDA it selects deterministic cuBLAS and
    cuDNN algorithms (which can be slower). Call it before CUDA does any work."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what cuBLAS needs to be deterministic
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate at optimisation step ``step`` (0-based) of ``total_steps``: a pure
    function of the step, so a resumed run follows the same schedule."""
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))  # cosine, lr -> 0


@dataclass(frozen=True)
class Schedule:
    """How many optimisation steps a run takes, and how they fall into epochs."""

    steps_per_epoch: int  # batches in a full pass (the last one may be smaller)
    total_steps: int

    @property
    def epochs(self) -> int:
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def steps_in_epoch(self, epoch: int) -> int:
        return min(self.steps_per_epoch, self.total_steps - epoch * self.steps_per_epoch)


def schedule(config: TrainConfig, num_examples: int) -> Schedule:
    """The run's length: ``epochs`` full passes, or the seeds' ``step = 1; while step *
    batch_size < train_samples: ...; step += 1`` (781 steps for 100,000 samples of 128)."""
    steps_per_epoch = math.ceil(num_examples / config.batch_size)
    if config.train_samples is not None:
        total = max(1, math.ceil(config.train_samples / config.batch_size) - 1)
    else:
        total = config.epochs * steps_per_epoch
    return Schedule(steps_per_epoch, total)


def make_checkpoint(model: nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig,
                    progress: Progress, metrics: list[dict]) -> dict:
    """Everything needed to evaluate the model or resume training, as plain values."""
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "format": ckpt.FORMAT,
        "version": ckpt.VERSION,
        "model_config": asdict(model.config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "train_config": asdict(config),
        "progress": asdict(progress),
        "rng": rng,
        "metrics": list(metrics),
        "versions": ckpt.versions(),
    }


def save(path: Path, model, optimizer, config, progress, metrics) -> None:
    """The checkpoint, then the metrics file beside it, each replaced atomically (by rank 0
    alone when training runs in several processes)."""
    if not distributed.is_main():
        return
    ckpt.save(path, make_checkpoint(model, optimizer, config, progress, metrics))
    ckpt.write_metrics(ckpt.metrics_path(path), metrics)


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: MNIST,
    config: TrainConfig,
    out: Path,
    progress: Progress | None = None,
    metrics: list[dict] | None = None,
    log_every: int = 50,
    stop_after: int | None = None,
    compile_model: bool = False,
    tensorboard: Path | None = None,
) -> list[dict]:
    """Train until the run's steps are done (continuing from ``progress``), then
    evaluate on the test split. Returns the metrics: a "log" record of the running loss and
    accuracy every ``log_every`` steps, an "epoch" record per epoch, then the "test" one.
    With ``stop_after``, stop once that many epochs are done (a checkpoint to resume from,
    no test); the learning-rate schedule still spans the whole run. With ``compile_model``, the
    training steps run the model through ``torch.compile`` (same numbers within float
    rounding, faster after a one-off compilation); evaluation stays eager. With ``tensorboard``,
    the metrics also go to TensorBoard event files in that folder."""
    progress = progress or Progress()
    metrics = list(metrics or [])
    train = data.train.head(config.limit_train) if config.limit_train else data.train
    device = train.labels.device
    plan = schedule(config, len(train))
    rank, world = distributed.rank(), distributed.world_size()
    forward = DistributedDataParallel(model) if world > 1 else model  # averages the gradients over ranks
    if compile_model:
        forward = torch.compile(forward, dynamic=True)  # dynamic: the last batch is smaller
    until = min(plan.epochs, stop_after or plan.epochs)
    writer = open_tensorboard(tensorboard) if tensorboard is not None and rank == 0 else None

    try:
        with StopSignals() as stop:
            while progress.epoch < until:
                epoch = progress.epoch  # 0-based index of the epoch under way
                batches = shuffled_batches(len(train), config.batch_size, config.seed, epoch, device)
                batches = batches[: plan.steps_in_epoch(epoch)]  # a run counted in samples may end mid-epoch
                # Running totals of this process's images, on the device (rank 0 carries a resumed run's).
                loss_sum = torch.tensor(progress.loss_sum if rank == 0 else 0.0, device=device)
                correct = torch.tensor(progress.correct if rank == 0 else 0, device=device)
                seen = progress.seen if rank == 0 else 0
                seconds = progress.seconds
                bar = tqdm(total=len(batches), initial=progress.step, desc=f"epoch {epoch + 1}/{plan.epochs}",
                           unit="batch", disable=None if rank == 0 else True, leave=False, dynamic_ncols=True)

                def totals() -> tuple[float, int, int]:
                    """loss, correct and images summed over all ranks' running totals (a host sync)."""
                    summed = distributed.sum_over_ranks(loss_sum, correct, torch.tensor(seen, device=device))
                    return summed[0].item(), int(summed[1].item()), int(summed[2].item())

                model.train()
                start = time.perf_counter()
                for step in range(progress.step, len(batches)):
                    index = batches[step]  # (b,): the global batch, the same on every rank
                    images, labels = train.images[index], train.labels[index]  # (b, T, I), (b,)
                    global_step = epoch * plan.steps_per_epoch + step
                    if config.augment:
                        images = random_affine(images, seed=config.seed * 1_000_003 + global_step)  # (b, T, I)
                    if world > 1:
                        images, labels = images[rank::world], labels[rank::world]  # this rank's shard
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(config, global_step, plan.total_steps)

                    logits = forward(images)  # (b, K)
                    loss = F.cross_entropy(logits, labels)
                    optimizer.zero_grad(set_to_none=True)
                    if world > 1:  # DDP averages over ranks: weigh each shard so that makes the global mean
                        (loss * (len(labels) * world / len(index))).backward()
                    else:
                        loss.backward()
                    if config.clip_grad_norm is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
                    optimizer.step()

                    # Running totals stay on the device: no host synchronisation per step.
                    loss_sum += loss.detach() * len(labels)
                    correct += (logits.argmax(dim=1) == labels).sum()
                    seen += len(labels)
                    bar.update(1)

                    done = step + 1
                    stop_now = distributed.any_rank(stop.requested, device)  # every rank stops at the same step
                    log_now = done % log_every == 0 or done == len(batches)
                    if stop_now or log_now:
                        total_loss, total_correct, total_seen = totals()
                        running_loss = total_loss / total_seen
                        if not math.isfinite(running_loss):
                            bar.close()
                            raise TrainingDiverged(
                                f"the loss became {running_loss} in epoch {epoch + 1} by step {done}/{len(batches)}; "
                                + (f"the last good checkpoint is kept in {out}; " if out.exists()
                                   else "no checkpoint was written; ")
                                + f"try a lower --lr (now {config.lr:g})"
                            )
                        bar.set_postfix(loss=f"{running_loss:.4f}", acc=f"{100 * total_correct / total_seen:.2f}%")
                        if log_now:  # not at a stop: a resumed run logs exactly what a straight one does
                            metrics.append({"event": "log", "epoch": epoch + 1, "step": done,
                                            "steps_in_epoch": len(batches), "running_loss": running_loss,
                                            "running_accuracy": total_correct / total_seen})
                        if writer is not None:
                            writer.add_scalar("train/running_loss", running_loss, global_step + 1)
                            writer.add_scalar("train/learning_rate", optimizer.param_groups[0]["lr"], global_step + 1)
                    if stop_now:
                        bar.close()
                        progress = Progress(epoch, done, total_loss, total_correct, total_seen,
                                            seconds + time.perf_counter() - start)
                        save(out, model, optimizer, config, progress, metrics)
                        raise TrainingInterrupted(
                            f"stopped in epoch {epoch + 1}/{plan.epochs} after step {done}/{len(batches)}; "
                            f"saved {out}"
                        )
                seconds += time.perf_counter() - start
                bar.close()

                total_loss, total_correct, total_seen = totals()
                val = evaluate(model, data.val)
                record = {
                    "event": "epoch",
                    "epoch": epoch + 1,
                    "train_loss": total_loss / total_seen,
                    "train_accuracy": total_correct / total_seen,
                    "val_loss": val["loss"],
                    "val_accuracy": val["accuracy"],
                    "seconds": seconds,
                    "images_per_second": total_seen / seconds,
                }
                metrics.append(record)
                if writer is not None:
                    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "images_per_second"):
                        writer.add_scalar(key.replace("_", "/", 1), record[key], epoch + 1)
                    writer.flush()
                progress = Progress(epoch=epoch + 1)
                save(out, model, optimizer, config, progress, metrics)
                if rank == 0:
                    tqdm.write(
                        f"epoch {epoch + 1}/{plan.epochs}: train loss {record['train_loss']:.4f} "
                        f"acc {100 * record['train_accuracy']:.2f}% | val loss {val['loss']:.4f} "
                        f"acc {100 * val['accuracy']:.2f}% | {seconds:.1f} s ({record['images_per_second']:.0f} images/s)"
                    )

        if progress.epoch < plan.epochs:  # stopped early, as asked
            return metrics
        test = evaluate(model, data.test)
        metrics.append({"event": "test", "epoch": progress.epoch, "accuracy": test["accuracy"],
                        "loss": test["loss"], "n": test["n"]})
        save(out, model, optimizer, config, progress, metrics)
        if writer is not None:
            writer.add_scalar("test/accuracy", test["accuracy"], progress.epoch)
        return metrics
    finally:
        if writer is not None:
            writer.close()


def open_tensorboard(folder: Path):
    """A TensorBoard writer for ``folder``; TensorBoard itself is an optional dependency."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise LSTMMnistError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(log_dir=str(folder))
