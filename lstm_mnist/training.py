"""The training loop: Adam on mean cross-entropy over shuffled mini-batches.

Nothing here is specific to the LSTM: ``fit`` trains any model that maps a batch of images to
logits and carries its ``ModelConfig`` (for the checkpoint). Read it top down:

    train(...)        the entry point: a new model and Adam, or both restored from a checkpoint
    fit(...)          epochs, a validation pass after each, the test pass at the end, checkpoints
    step_function(...)  the run's step: train_step, or with --cuda-graphs recorded once and
                      replayed (cuda_graph.py)
    train_epoch(...)  one pass over the shuffled batches, with its own running totals; it sets each
                      step's learning rate (set_learning_rate), then takes the step
    train_step(...)   forward, loss, backward, Adam: one mini-batch

It writes a checkpoint (and the metrics file beside it) after every epoch, and stops cleanly on
Ctrl-C, SIGTERM or SIGHUP: the current step finishes, a checkpoint of the exact point reached is
written, and ``TrainingInterrupted`` says how to resume. A second Ctrl-C stops at once; the
checkpoint on disk is then the last one written, intact.

Resuming is exact: the order of the batches depends only on (seed, epoch), the learning rate
and the augmentation only on the step, and the checkpoint holds the model, Adam's state and
the running totals of an unfinished epoch. Under ``torchrun`` every process draws the same
global batches and trains on its shard of each (distributed.py); in one process that code
does nothing.
"""

import errno
import math
import os
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from . import checkpoint as ckpt
from . import cuda_graph, distributed
from .checkpoint import Progress
from .config import TrainConfig
from .data import MNIST, Split, random_affine, shuffled_batches
from .errors import LSTMMnistError, SettingError, flag_of
from .evaluation import evaluate
from .files import shown
from .model import ModelConfig, RecurrentClassifier
from .presets import initialize
from .reporting import Reporter
from .words import counted


@dataclass(frozen=True)
class RunOptions:
    """How to run a training, not what it computes (not stored in the checkpoint)."""

    log_every: int = 50  # a "log" record of the running loss and accuracy every this many steps
    stop_after: int | None = None  # stop once this many epochs are done (no test); the schedule spans all
    compile: bool = False  # the training steps through torch.compile (evaluation stays eager)
    tensorboard: Path | None = None  # also write the metrics as TensorBoard events in this folder
    stop: "StopSignals | None" = None  # listening already (train.py's, since start-up); None: fit listens
    readable: bool = False  # the readable loop with autograd (model.fast = False), to step through the cell
    cuda_graphs: bool = False  # CUDA only: the training step recorded once as a CUDA graph, then replayed


class TrainingInterrupted(LSTMMnistError):
    """Ctrl-C, SIGTERM or SIGHUP stopped training; a checkpoint of the point reached was written."""


class TrainingDiverged(LSTMMnistError):
    """The loss became NaN or infinite; the last good checkpoint was kept. The way out is a lower
    learning rate: the config field ``lr`` in ``str(e)``, train.py's --lr in ``e.in_flags``."""

    def __init__(self, what: str, lr: float):
        super().__init__(f"{what}; try a lower learning rate (lr, now {lr:g})")
        self.what, self.lr = what, lr
        self.in_flags = f"{what}; try a lower {flag_of('lr')} (now {lr:g})"

    def __reduce__(self):  # pickled (to another process) or copied: made again from its parts, not its message
        return type(self), (self.what, self.lr), self.__dict__


class StopSignals:
    """Within ``with StopSignals() as stop:``, the first Ctrl-C, SIGTERM or SIGHUP sets ``stop.requested`` and
    prints ``stop.at``, what the run does then (in training: finishes its step and saves; ``fit`` keeps it
    true as the run goes on); a second one raises KeyboardInterrupt at once. A signal the process was
    started ignoring stays ignored (a shell script's background job ignores Ctrl-C, meant for the
    script, as Python itself does)."""

    # SIGHUP: the terminal the run was started from was closed (an ssh session dropped), which killed the
    # run at once, losing the epoch under way; under nohup it is ignored, and stays so. Windows has none.
    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self):
        self.requested = False
        self.at = "stopping before the training starts"  # what a first signal does now, in words (``fit`` changes it)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        quiet_a_terminal_that_hung_up()
        if distributed.is_main():  # under torchrun every process gets the Ctrl-C: one line says what they all do
            say_at_once(f"\n{signal.Signals(signum).name}: {self.at} ({self.again()} to quit at once)")

    def again(self) -> str:
        """What quits at once: a second Ctrl-C, or where Ctrl-C stays ignored (``python train.py &`` in a
        script) a second SIGTERM; telling that run's user to press Ctrl-C would be telling them to do nothing."""
        return "press Ctrl-C again" if signal.SIGINT in self._previous else "send SIGTERM again"

    def __enter__(self):
        for sig in self.SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:  # ignored: `python train.py &` in a script, nohup-like
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def say_at_once(line: str) -> None:
    """Print ``line`` from a signal handler, above the progress bar. A signal that comes while the run itself
    writes to stdout finds its buffer busy ("reentrant call inside <_io.BufferedWriter name='<stdout>'>", a
    RuntimeError that ended the run with status 1 instead of saving): the line then goes to the file descriptor
    beneath it. A closed stream or a full disk loses the line, not the run (a terminal that hung up is
    /dev/null by now: ``quiet_a_terminal_that_hung_up``)."""
    try:
        tqdm.write(line)
    except RuntimeError:
        try:
            os.write(sys.stdout.fileno(), (line + "\n").encode(errors="replace"))
        except (AttributeError, OSError, ValueError):  # no stdout at all, or a closed one
            pass
    except (OSError, ValueError):
        pass


def quiet_a_terminal_that_hung_up() -> None:
    """Point stdout and stderr at /dev/null where they are a terminal that is gone (closed, the ssh session
    dropped: SIGHUP, then every write fails with EIO; nohup, started beforehand, would have sent them to
    nohup.out). The run then saves, writes its report to nowhere and ends with its own status (130),
    instead of failing (1) at its last words. An empty write asks the terminal without showing anything;
    a live one is left alone."""
    for fd in (1, 2):
        try:
            os.write(fd, b"")
        except OSError as e:
            if e.errno == errno.EIO:
                nowhere = os.open(os.devnull, os.O_WRONLY)
                os.dup2(nowhere, fd)
                os.close(nowhere)  # fd is a copy of it


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
class RunLength:
    """How many optimisation steps a run takes, and how they fall into epochs."""

    steps_per_epoch: int  # batches in a full pass (the last one may be smaller)
    total_steps: int

    @property
    def epochs(self) -> int:
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def steps_in_epoch(self, epoch: int) -> int:
        return min(self.steps_per_epoch, self.total_steps - epoch * self.steps_per_epoch)


def run_length(config: TrainConfig, num_examples: int) -> RunLength:
    """``epochs`` full passes, or the seeds' ``step = 1; while step * batch_size <
    train_samples: ...; step += 1`` (781 steps for 100,000 samples of 128)."""
    steps_per_epoch = math.ceil(num_examples / config.batch_size)
    if config.train_samples is not None:
        total = max(1, math.ceil(config.train_samples / config.batch_size) - 1)
    else:
        total = config.epochs * steps_per_epoch
    return RunLength(steps_per_epoch, total)


def training_split(data: MNIST, config: TrainConfig) -> Split:
    """The images trained on: all of the training split, or its first ``limit_train``. A limit past
    the split's end would do nothing: it is refused (SettingError: --limit-train in the programs), not ignored."""
    if config.limit_train is not None and config.limit_train > len(data.train):
        raise SettingError("limit_train", config.limit_train,
                           f"the training split has only {counted(len(data.train), 'image')} (the training file's "
                           f"{len(data.train) + len(data.val):,} less the {len(data.val):,} held out for validation); "
                           "ask for at most that many, or for no limit to train on all")
    return data.train.head(config.limit_train) if config.limit_train else data.train


def data_fingerprint(data: MNIST, config: TrainConfig) -> dict:
    """What a run trains and validates on, kept in its checkpoint ("data"): a resume on other images
    (another data folder, other MNIST files, fewer of them) would not be the run it continues. Not
    ``training_split``: on a resume with fewer images than the run's --limit-train, that refuses a
    flag the user never gave, where the fingerprint's comparison says what differs."""
    return {"train": data.train.head(config.limit_train).fingerprint(), "validation": data.val.fingerprint()}


def train(model_config: ModelConfig, config: TrainConfig, data: MNIST, out: Path, resume: dict | None = None,
          options: RunOptions = RunOptions(), class_names: tuple[str, ...] | None = None,
          trained_on: dict | None = None) -> tuple[RecurrentClassifier, list[dict]]:
    """Train a new model (``model_config``, initialised from ``config.seed``) or continue the run
    of a loaded checkpoint (``resume``), on ``data``'s device, writing checkpoints to ``out``.
    Returns the trained model and the metrics (see ``fit``; ``trained_on`` too)."""
    ckpt.check_train_config(config)  # before the model is built and Adam takes the learning rate
    device = data.train.images.device
    torch.manual_seed(config.seed)
    if resume is None:
        model = RecurrentClassifier(model_config)
        initialize(model, config.init)
    else:
        model = ckpt.build_model(resume)
    model = model.to(device)
    model.fast = not options.readable
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    progress, metrics = ckpt.restore(resume, optimizer, device) if resume is not None else (Progress(), [])
    return model, fit(model, optimizer, data, config, out, progress, metrics, options, class_names, trained_on)


def fit(model: RecurrentClassifier, optimizer: torch.optim.Optimizer, data: MNIST, config: TrainConfig, out: Path,
        progress: Progress | None = None, metrics: list[dict] | None = None, options: RunOptions = RunOptions(),
        class_names: tuple[str, ...] | None = None, trained_on: dict | None = None) -> list[dict]:
    """Train until the run's steps are done (continuing from ``progress``), then evaluate on the
    test split. Returns the metrics: a "log" record of the running loss and accuracy every
    ``options.log_every`` steps, an "epoch" record per epoch, then the "test" one. ``trained_on``:
    ``data_fingerprint(data, config)`` if the caller has it already (train.py's resume checks it)."""
    ckpt.check_train_config(config)  # what its checkpoint could not hold is refused before any step
    progress = progress or Progress()
    split = training_split(data, config)
    length = run_length(config, len(split))
    step = step_function(model, optimizer, config, options)
    if trained_on is None and distributed.is_main():  # only rank 0 saves it
        trained_on = data_fingerprint(data, config)

    def save(progress: Progress) -> None:  # rank 0 writes the checkpoint, then the metrics beside it
        if distributed.is_main():
            ckpt.save(out, ckpt.make(model, optimizer, config, progress, reporter.metrics, class_names, trained_on))
            ckpt.write_metrics(ckpt.metrics_path(out), reporter.metrics)

    listening = nullcontext(options.stop) if options.stop is not None else StopSignals()
    steps_done = progress.epoch * length.steps_per_epoch + progress.step
    with Reporter(metrics, options.log_every, options.tensorboard, steps_done) as reporter, listening as stop:
        while progress.epoch < min(length.epochs, options.stop_after or length.epochs):
            stop.at = "stopping after this step"
            progress, stopped = train_epoch(step, optimizer, split, config, length, progress, reporter, stop, out)
            if stopped:
                save(progress)
                raise TrainingInterrupted(
                    f"stopped in epoch {progress.epoch + 1}/{length.epochs} after step {progress.step}/"
                    f"{length.steps_in_epoch(progress.epoch)}; saved {shown(out)}"
                )
            stop.at = "stopping after this epoch's validation pass"
            reporter.epoch(epoch_record(progress, evaluate(model, data.val)), length.epochs)
            progress = Progress(epoch=progress.epoch + 1)
            save(progress)
            as_asked = options.stop_after is not None and progress.epoch >= options.stop_after  # ends here anyway
            if not as_asked and distributed.any_rank(stop.requested, split.labels.device):  # in the validation pass
                left = " (the test evaluation is left)" if progress.epoch == length.epochs else ""
                raise TrainingInterrupted(f"stopped after epoch {progress.epoch}/{length.epochs}{left}; "
                                          f"saved {shown(out)}")
        if progress.epoch < length.epochs:  # stopped early, as asked
            return reporter.metrics
        stop.at = "the training is done: finishing its test evaluation, a second or so"  # then saved: nothing to resume
        reporter.test(evaluate(model, data.test), progress.epoch)
        save(progress)
    return reporter.metrics


def step_function(model: nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig,
                  options: RunOptions) -> cuda_graph.Step:
    """``train_step`` for this run, as a function of (images, labels, global batch size): through
    torchrun's wrapper and torch.compile when they are asked for, or recorded once as a CUDA graph
    and replayed (``options.cuda_graphs``; Adam is then changed to read its learning rate from the GPU)."""
    forward = distributed.wrap(model)
    if options.compile:
        forward = torch.compile(forward, dynamic=True)  # dynamic: the last batch is smaller

    def step(images: Tensor, labels: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
        return train_step(model, forward, optimizer, images, labels, config.clip_grad_norm, batch_size)

    if not options.cuda_graphs:
        return step
    reason = cuda_graph.unusable_because(next(model.parameters()).device, options.compile, distributed.world_size())
    if reason is not None:
        raise ValueError(reason)
    cuda_graph.make_capturable(optimizer)
    return cuda_graph.GraphedStep(step, optimizer, config.batch_size)


def epoch_record(progress: Progress, val: dict) -> dict:
    """The "epoch" record of a finished epoch: its training totals, then the validation metrics."""
    return {
        "event": "epoch",
        "epoch": progress.epoch + 1,
        "train_loss": progress.loss_sum / progress.seen,
        "train_accuracy": progress.correct / progress.seen,
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "seconds": progress.seconds,
        "images_per_second": progress.seen / progress.seconds,
    }


class RunningTotals:
    """Loss, correct answers and images of this process in the epoch under way. They stay on
    the device (no host synchronisation per step); rank 0 carries a resumed run's totals."""

    def __init__(self, progress: Progress, device: torch.device):
        carried = distributed.is_main()
        self.loss_sum = torch.tensor(progress.loss_sum if carried else 0.0, device=device)
        self.correct = torch.tensor(progress.correct if carried else 0, device=device)
        self.seen = progress.seen if carried else 0

    def add(self, loss: Tensor, logits: Tensor, labels: Tensor) -> None:
        self.loss_sum += loss.detach() * len(labels)
        self.correct += (logits.argmax(dim=1) == labels).sum()
        self.seen += len(labels)

    def summed(self) -> tuple[float, int, int]:
        """loss, correct answers and images, summed over all ranks (a host synchronisation)."""
        seen = torch.tensor(self.seen, device=self.loss_sum.device)
        loss_sum, correct, seen = distributed.sum_over_ranks(self.loss_sum, self.correct, seen)
        return loss_sum.item(), int(correct.item()), int(seen.item())


def train_epoch(step: cuda_graph.Step, optimizer: torch.optim.Optimizer, split: Split, config: TrainConfig,
                length: RunLength, progress: Progress, reporter: Reporter, stop: StopSignals,
                out: Path) -> tuple[Progress, bool]:
    """The batches of epoch ``progress.epoch`` from step ``progress.step`` on, each through ``step``
    (``step_function``). Returns the progress at the end (with the epoch's running totals), and
    whether a stop cut the epoch short."""
    epoch, device = progress.epoch, split.labels.device
    batches = shuffled_batches(len(split), config.batch_size, config.seed, epoch, device)
    batches = batches[: length.steps_in_epoch(epoch)]  # a run counted in samples may end mid-epoch
    totals = RunningTotals(progress, device)
    reporter.start_epoch(epoch, length.epochs, len(batches), progress.step)
    start, done, stop_now = time.perf_counter(), progress.step, False
    for i in range(progress.step, len(batches)):
        global_step = epoch * length.steps_per_epoch + i
        index = batches[i]  # (b,): the global batch, the same on every rank
        images, labels = split.images[index], split.labels[index]  # (b, T, I), (b,)
        if config.augment:
            images = random_affine(images, seed=config.seed * 1_000_003 + global_step)  # (b, T, I)
        images, labels = distributed.shard(images, labels)  # this rank's share
        lr = learning_rate(config, global_step, length.total_steps)
        set_learning_rate(optimizer, lr)
        loss, logits = step(images, labels, len(index))
        totals.add(loss, logits, labels)
        reporter.bar.update(1)

        done = i + 1
        stop_now = distributed.any_rank(stop.requested, device)  # every rank stops at the same step
        if stop_now or reporter.is_log_step(done, len(batches)):
            loss_sum, correct, seen = totals.summed()
            check_finite(loss_sum / seen, epoch, done, len(batches), out, config.lr)
            reporter.log(epoch, done, len(batches), loss_sum / seen, correct / seen, lr, global_step,
                         keep=reporter.is_log_step(done, len(batches)))
        if stop_now:
            break
    reporter.end_bar()
    loss_sum, correct, seen = totals.summed()
    return Progress(epoch, done, loss_sum, correct, seen, progress.seconds + time.perf_counter() - start), stop_now


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The learning rate of the next step: a number in each of Adam's groups, or, for a CUDA graph,
    written into the GPU tensor that the recorded step reads (cuda_graph.py)."""
    for group in optimizer.param_groups:
        if torch.is_tensor(group["lr"]):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def train_step(model: nn.Module, forward: nn.Module, optimizer: torch.optim.Optimizer, images: Tensor,
               labels: Tensor, clip_grad_norm: float | None, batch_size: int) -> tuple[Tensor, Tensor]:
    """One optimisation step on ``images`` (b, T, I) and ``labels`` (b,), this rank's share of a
    global batch of ``batch_size``, at the learning rate set before (``set_learning_rate``).
    Returns the mean loss and the logits (b, K)."""
    logits = forward(images)  # (b, K)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    distributed.weighted_for_ddp(loss, len(labels), batch_size).backward()
    if clip_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    optimizer.step()
    return loss, logits


def check_finite(running_loss: float, epoch: int, done: int, steps: int, out: Path, lr: float) -> None:
    """Raise ``TrainingDiverged`` if the running loss is NaN or infinite."""
    if math.isfinite(running_loss):
        return
    raise TrainingDiverged(
        f"the loss became {running_loss} in epoch {epoch + 1} by step {done}/{steps}; "
        + (f"the last good checkpoint is kept in {shown(out)}" if out.exists() else "no checkpoint was written"), lr)


__all__ = ["Progress", "RunLength", "RunOptions", "TrainConfig", "TrainingDiverged", "TrainingInterrupted",
           "data_fingerprint", "fit", "learning_rate", "make_deterministic", "run_length", "set_learning_rate",
           "step_function", "train", "train_epoch", "train_step"]
