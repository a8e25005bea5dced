"""Where training says how it goes: the progress bar, the metric records that the checkpoint
keeps (and the figure is drawn from), TensorBoard, and one summary line per epoch.

Only rank 0 shows and writes when torchrun runs several processes; the others keep the same
records (every rank computes the same summed numbers), so any rank can save.
"""

import os
import sys
from pathlib import Path

from tqdm import tqdm

from . import distributed
from .errors import LSTMMnistError

EPOCH_SCALARS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "images_per_second")


class Reporter:
    """``with Reporter(metrics, log_every, tensorboard) as reporter:`` for one training run."""

    def __init__(self, metrics: list[dict] | None = None, log_every: int = 50, tensorboard: Path | None = None,
                 steps_done: int = 0):
        """``steps_done``: the optimisation steps a resumed run had taken; TensorBoard then drops what an
        earlier writer of the folder logged past them (a run killed after its last checkpoint), which
        this run logs again: one curve, not two that overlap."""
        self.metrics = list(metrics or [])  # "log", "epoch" and "test" records, in order
        self.log_every = log_every
        self.main = distributed.is_main()
        self.writer = open_tensorboard(tensorboard, steps_done) if tensorboard is not None and self.main else None
        self.bar = None

    def __enter__(self) -> "Reporter":
        return self

    def __exit__(self, *exc) -> bool:
        self.end_bar()
        if self.writer is not None:
            self.writer.close()
        return False

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int) -> None:
        """A progress bar for epoch ``epoch`` (0-based) of ``steps`` batches, ``done`` of them already."""
        self.bar = tqdm(total=steps, initial=done, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                        disable=None if self.main else True, leave=False, **bar_size())

    def end_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def is_log_step(self, done: int, steps: int) -> bool:
        return done % self.log_every == 0 or done == steps

    def log(self, epoch: int, done: int, steps: int, loss: float, accuracy: float, lr: float, global_step: int,
            keep: bool = True) -> None:
        """The running loss and accuracy after ``done`` steps of epoch ``epoch`` (0-based): on the bar,
        in TensorBoard and, if ``keep``, in the records (not at a stop, so that a resumed run
        records exactly what a straight one does)."""
        self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{100 * accuracy:.2f}%")
        if keep:
            self.metrics.append({"event": "log", "epoch": epoch + 1, "step": done, "steps_in_epoch": steps,
                                 "running_loss": loss, "running_accuracy": accuracy})
        if self.writer is not None:
            self.writer.add_scalar("train/running_loss", loss, global_step + 1)
            self.writer.add_scalar("train/learning_rate", lr, global_step + 1)

    def epoch(self, record: dict, epochs: int) -> None:
        """One finished epoch's record (see training.epoch_record), and its summary line."""
        self.end_bar()
        self.metrics.append(record)
        if self.writer is not None:
            for key in EPOCH_SCALARS:
                self.writer.add_scalar(key.replace("_", "/", 1), record[key], record["epoch"])
            self.writer.flush()
        if self.main:
            tqdm.write(
                f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f} "
                f"acc {100 * record['train_accuracy']:.2f}% | val loss {record['val_loss']:.4f} "
                f"acc {100 * record['val_accuracy']:.2f}% | {record['seconds']:.1f} s "
                f"({record['images_per_second']:.0f} images/s)"
            )

    def test(self, result: dict, epoch: int) -> None:
        """The final evaluation on the test split (``evaluation.evaluate``'s numbers)."""
        self.metrics.append({"event": "test", "epoch": epoch, "accuracy": result["accuracy"],
                             "loss": result["loss"], "n": result["n"]})
        if self.writer is not None:
            self.writer.add_scalar("test/accuracy", result["accuracy"], epoch)


def open_tensorboard(folder: Path, steps_done: int = 0):
    """A TensorBoard writer for ``folder``; TensorBoard itself is an optional dependency. Resuming
    after ``steps_done`` steps, its ``purge_step`` tells TensorBoard to drop the events of earlier
    files at later steps (the running loss is logged at the step count, 1-based)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise LSTMMnistError("logging for TensorBoard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(log_dir=str(folder), purge_step=steps_done + 1 if steps_done else None)


def bar_size() -> dict:
    """tqdm's size arguments: the bar follows the terminal's width as it changes, except where standard
    error is a terminal that reports a size of 0 x 0 (a pseudo-terminal nobody sized: ``script``,
    ``docker exec -t``, some CI runners), on which tqdm prints every line of the bar empty: there it
    gets 80 columns and 24 rows, what ``shutil.get_terminal_size`` falls back to."""
    try:
        unsized = os.get_terminal_size(sys.stderr.fileno()).columns == 0
    except (AttributeError, OSError, ValueError):  # not a terminal (tqdm then shows no bar), or no file behind it
        unsized = False
    return {"ncols": 80, "nrows": 24} if unsized else {"dynamic_ncols": True}
