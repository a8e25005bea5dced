"""Train the row-by-row LSTM on MNIST and write a checkpoint.

    python train.py                      # 3 epochs, batch 128, Adam 0.003 decayed to 0: about 98.6%
    python train.py --device cpu --limit-train 5000 --epochs 1   # a quick look
    python train.py --resume checkpoint.pt --epochs 5             # 2 more epochs
    torchrun --nproc_per_node=2 train.py                          # data-parallel, 2 processes
"""

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from lstm_mnist import checkpoint as ckpt
from lstm_mnist import cuda_graph, distributed, figures
from lstm_mnist.cli import (INTERRUPTED, ArgumentParser, HelpFormatter, add_data_dir_flag, add_device_flag, batch_size,
                            check_compiler, check_model_size, check_name_length, check_output_folder,
                            check_output_path, class_names, command_line, compile_failed, device_from_flag, docstring,
                            finite_float, learning_rate, nonempty_path, named, output_file, positive_float,
                            positive_int, program_name, run, same_file, seed)
from lstm_mnist.config import TrainConfig
from lstm_mnist.data import SplitTooSmall, files_read_from, load_mnist
from lstm_mnist.errors import LSTMMnistError, UsageError, flag_of
from lstm_mnist.files import (exclusive, is_temporary_of, kind, path_word, remove_stale_temporaries, shell_word,
                              shown, through_links, unreplaceable)
from lstm_mnist.model import CELLS, ModelConfig, count_parameters
from lstm_mnist.presets import PRESETS
from lstm_mnist.training import (RunLength, RunOptions, StopSignals, TrainingInterrupted, data_fingerprint,
                                 make_deterministic, run_length, train, training_split)
from lstm_mnist.words import counted

MODEL_DEFAULTS, TRAIN_DEFAULTS = ModelConfig(), TrainConfig()


def build_parser() -> ArgumentParser:
    description = docstring(__doc__, __file__).replace("python train.py", command_line("train.py"))
    parser = ArgumentParser(prog=program_name("train.py"), formatter_class=HelpFormatter, description=description)
    add_model_flags(parser.add_argument_group(
        "model (fixed once training starts; --resume takes them from the checkpoint)"))
    add_training_flags(parser.add_argument_group("training"))
    add_running_flags(parser.add_argument_group("data, device, files and running"))
    return parser


def add_model_flags(model) -> None:
    """The ModelConfig fields (each flag's dest names its field: "model.hidden_size")."""
    model.add_argument("--cell", dest="model.cell", choices=CELLS, default=None,
                       help="the recurrent cell: the LSTM, or a plain RNN or a GRU to compare it with "
                            f"(default: {MODEL_DEFAULTS.cell})")
    model.add_argument("--hidden-size", dest="model.hidden_size", type=positive_int, default=None, metavar="H",
                       help=f"hidden units H (default: {MODEL_DEFAULTS.hidden_size})")
    model.add_argument("--forget-bias", dest="model.forget_bias", type=finite_float, default=None, metavar="B",
                       help=f"constant added to the LSTM's forget gate, as TensorFlow's BasicLSTMCell "
                            f"(default: {MODEL_DEFAULTS.forget_bias})")
    model.add_argument("--input-projection", dest="model.input_projection", action="store_true", default=None,
                       help="a linear 28->H layer before the cell, as seeds 002 and 003 (default: off)")
    model.add_argument("--normalize", dest="model.normalize", action=argparse.BooleanOptionalAction, default=None,
                       help="standardise pixels with MNIST's mean and std before the cell; --no-normalize "
                            "feeds them in [0, 1] as the seeds did (default: on)")


def add_training_flags(training) -> None:
    """The TrainConfig fields (dest "train.<field>"), the preset and the class names."""
    training.add_argument("--preset", choices=sorted(PRESETS), default=None,
                          help="start from a seed tutorial's configuration, or the best one found (see the "
                               "README's results table); flags given beside it override it (default: none)")
    training.add_argument("--epochs", dest="train.epochs", type=positive_int, default=None, metavar="N",
                          help=f"total epochs; with --resume, train until this many are done "
                               f"(default: {TRAIN_DEFAULTS.epochs})")
    training.add_argument("--train-samples", dest="train.train_samples", type=positive_int, default=None, metavar="N",
                          help="train for as many steps as the seeds' `while step * batch_size < N` "
                               "(from step 1: 781 steps for 100000), instead of --epochs (default: none)")
    training.add_argument("--batch-size", dest="train.batch_size", type=batch_size, default=None, metavar="N",
                          help=f"images per step (default: {TRAIN_DEFAULTS.batch_size})")
    training.add_argument("--lr", dest="train.lr", type=learning_rate, default=None, metavar="LR",
                          help=f"Adam learning rate at the first step (default: {TRAIN_DEFAULTS.lr}; "
                               "the seeds used 0.001)")
    training.add_argument("--lr-schedule", dest="train.lr_schedule", choices=("cosine", "constant"), default=None,
                          help="cosine: decay the learning rate to 0 over the whole run; constant: as the seeds "
                               f"(default: {TRAIN_DEFAULTS.lr_schedule})")
    training.add_argument("--clip-grad-norm", dest="train.clip_grad_norm", type=positive_float, default=None,
                          metavar="MAX",
                          help="rescale the gradients when their total norm exceeds MAX (default: no clipping)")
    training.add_argument("--augment", dest="train.augment", action=argparse.BooleanOptionalAction, default=None,
                          help="randomly rotate (up to 10 degrees), scale (up to 10%%) and shift (up to 2 pixels) "
                               "every training image (default: off)")
    training.add_argument("--init", dest="train.init", choices=("pytorch", "normal", "normal-bias0.1"), default=None,
                          help="initialisation of the head and the projection: PyTorch's, or the seeds' "
                               f"tf.random_normal (default: {TRAIN_DEFAULTS.init})")
    training.add_argument("--validation-size", dest="train.validation_size", type=positive_int, default=None,
                          metavar="N", help="hold out the first N training images for validation "
                                            f"(default: {TRAIN_DEFAULTS.validation_size}, the seeds' split)")
    training.add_argument("--class-names", type=class_names, default=None, metavar="NAMES",
                          help="what labels 0..9 mean, comma-separated, for data sets other than MNIST's digits "
                               "(e.g. Fashion-MNIST's); stored in the checkpoint for evaluate.py's reports "
                               "(default: the digits 0 to 9)")
    training.add_argument("--seed", dest="train.seed", type=seed, default=None, metavar="N",
                          help=f"random seed for the weights and the batch order (default: {TRAIN_DEFAULTS.seed})")
    training.add_argument("--limit-train", dest="train.limit_train", type=positive_int, default=None, metavar="N",
                          help="train on the first N of the 55,000 training images only (default: all)")


def add_running_flags(io) -> None:
    """Where the data and the files are, and how to run: nothing here changes what is computed."""
    add_data_dir_flag(io)
    add_device_flag(io)
    io.add_argument("--out", type=output_file, default=None, metavar="PATH",
                    help="checkpoint to write after every epoch; the metrics go beside it as .metrics.jsonl "
                         "(default: checkpoint.pt, or the --resume file)")
    io.add_argument("--resume", type=nonempty_path, default=None, metavar="PATH",
                    help="continue training from this checkpoint, exactly where it stopped (default: a new run)")
    io.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    io.add_argument("--stop-after", type=positive_int, default=None, metavar="N",
                    help="stop once N epochs are done, leaving a checkpoint to --resume (a lesson-sized "
                         "piece of a longer run; the learning-rate schedule still spans --epochs) "
                         "(default: run them all)")
    io.add_argument("--deterministic", action="store_true",
                    help="bit-reproducible kernels on CUDA too (CPU runs already are; on CUDA it can be slower)")
    io.add_argument("--readable", action="store_true",
                    help="train through the readable loop, LSTMCell.forward with autograd, so that a breakpoint "
                         "in the cell stops during training (the same numbers within float rounding). Default: the "
                         "whole sequence as one node of autograd with the backward by hand (bptt.py)")
    io.add_argument("--compile", action="store_true",
                    help="run the training steps through torch.compile: faster once compiled, but the first "
                         "compilation takes 30 s to a minute on a 2-core CPU (a few seconds once PyTorch's "
                         "compile cache holds it; same results within float rounding)")
    io.add_argument("--cuda-graphs", action="store_true",
                    help="CUDA only: record the training step once as a CUDA graph and replay it, one launch "
                         "instead of about 550 per step (same numbers within float rounding; lstm_mnist/cuda_graph.py)")
    io.add_argument("--tensorboard", type=nonempty_path, default=None, metavar="DIR",
                    help="also log the metrics for TensorBoard in DIR (needs: pip install tensorboard)")
    io.add_argument("--figure", action=argparse.BooleanOptionalAction, default=True,
                    help="draw the loss and accuracy curves beside the checkpoint, as .training.png "
                         "(default: on; needs matplotlib)")
    io.add_argument("--log-every", type=positive_int, default=50, metavar="STEPS",
                    help="update the progress bar's loss and accuracy, and log them to the metrics and the "
                         "figure, every this many steps (default: 50)")


def given(args: argparse.Namespace, section: str) -> dict:
    """The config fields of ``section`` ("model" or "train") set on the command line: each such
    flag names its field in its ``dest`` ("model.hidden_size"); flags left out are None."""
    prefix = section + "."
    return {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


MODEL_FIELDS = set(asdict(MODEL_DEFAULTS))
LENGTH_FIELDS = ("epochs", "train_samples")  # how long to train: the one thing a resumed run may change


def with_length(config: dict, flags: dict) -> dict:
    """An explicit --epochs replaces a --train-samples length, and the other way round."""
    if "epochs" in flags:
        return config | {"epochs": flags["epochs"], "train_samples": None}
    if "train_samples" in flags:
        return config | {"epochs": None, "train_samples": flags["train_samples"]}
    return config


def resolve_settings(model_flags: dict, train_flags: dict, preset: str | None = None,
                     names: tuple[str, ...] | None = None, stored: dict | None = None,
                     ) -> tuple[ModelConfig, TrainConfig, tuple[str, ...] | None]:
    """The effective model config, training config and class names: the defaults, then the
    ``preset``, then the flags given; or, resuming ``stored`` (a checkpoint), its settings, of
    which only the length (--epochs, --train-samples) may change. Raises ``UsageError``."""
    if all(k in train_flags for k in LENGTH_FIELDS):
        raise UsageError("--epochs and --train-samples both set how long to train; give one of them")
    if stored is None:
        base = (asdict(MODEL_DEFAULTS) | asdict(TRAIN_DEFAULTS) | PRESETS.get(preset, {})
                | ({"preset": preset} if preset else {}))
        model = {k: base[k] for k in MODEL_FIELDS} | model_flags
        train = with_length({k: v for k, v in base.items() if k not in MODEL_FIELDS} | train_flags, train_flags)
    else:
        if preset is not None:
            raise UsageError("--preset cannot be combined with --resume: a resumed run keeps its settings")
        model, train = asdict(ckpt.model_config(stored)), asdict(ckpt.train_config(stored))
        stored_names = ckpt.class_names(stored)
        changed = [(k, v, model[k]) for k, v in model_flags.items() if v != model[k]]
        changed += [(k, v, train[k]) for k, v in train_flags.items() if k not in LENGTH_FIELDS and v != train[k]]
        changed += [("class_names", ",".join(names), ",".join(stored_names) if stored_names else None)] \
            if names is not None and names != stored_names else []
        for key, value, old in changed[:1]:
            raise UsageError(f"{differs(key, value, old)}; a resumed run keeps its settings (only --epochs or "
                             "--train-samples may change)")
        train, names = with_length(train, train_flags), stored_names
    if model["cell"] != "lstm" and "forget_bias" in model_flags:
        raise UsageError(f"--forget-bias is the LSTM's; a {model['cell'].upper()} cell has no forget gate")
    return ModelConfig(**model), TrainConfig(**train), names


def differs(key: str, value, old) -> str:
    """A setting given to a resumed run, against the checkpoint's, as flags: '--hidden-size 64 differs from
    the checkpoint's 32', '--no-normalize differs from the checkpoint's run, trained with --normalize'
    (never Python's True, False or None)."""
    flag = flag_of(key)
    given = (flag if value else f"--no-{flag[2:]}") if isinstance(value, bool) else f"{flag} {value}"
    if old is None or isinstance(old, bool):
        what = " (the digits 0 to 9)" if key == "class_names" else ""
        return f"{given} differs from the checkpoint's run, trained {'with' if old else 'without'} {flag}{what}"
    return f"{given} differs from the checkpoint's {old}"


def say(*args, **kwargs) -> None:
    """print, on rank 0 only when torchrun started several processes."""
    if distributed.is_main():
        print(*args, **kwargs)


def main() -> int:
    started = time.time()
    parser = build_parser()
    args = parser.parse_args()
    out = args.out or args.resume or Path("checkpoint.pt")
    out = through_links(out)  # a link: write the file it points to (replacing the link would leave that file behind)
    if args.deterministic:
        make_deterministic()  # before CUDA does any work
    device, device_line = device_from_flag(parser, args.device)
    if distributed.launched_by_torchrun():
        device = distributed.setup(device)
        device_line += f"; {counted(distributed.world_size(), 'process', 'processes')} (torchrun), {device} on this one"
    stored = load_resumable(args.resume) if args.resume is not None else None
    model_config, config, names = resolve_settings(given(args, "model"), given(args, "train"), args.preset,
                                                   args.class_names, stored)
    check_model_size(model_config, device)
    check_cuda_graphs(args, device)
    check_outputs(out, args, model_config)
    if args.compile:
        check_compiler("--compile", "train without --compile", [device])
    with exclusive(out, enabled=distributed.is_main()), StopSignals() as stop:  # one run at a time writes ``out``
        if distributed.is_main():  # under the lock: a live run's temporaries are not stale
            for written in (out, *ckpt.files_beside(out)):
                for stale in remove_stale_temporaries(written):
                    print(f"removed {shown(stale)}, left by a run that was killed while writing")
        say(device_line + (" (deterministic)" if args.deterministic else ""))
        say(f"model: {model_config}")
        say(f"training: {config}" + (f"; class names: {', '.join(names)}" if names else ""))
        try:
            return train_and_report(args, out, device, model_config, config, names, stored, stop)
        except (TrainingInterrupted, KeyboardInterrupt) as e:
            return interrupted(e, out, args, started)
        except BrokenPipeError:  # the reader of the output has gone (| head): cli.run ends quietly
            raise
        except OSError as e:  # a full disk, say, while a checkpoint was written: the last one is intact
            raise LSTMMnistError(write_failed(e, out, args, started)) from None
        except RuntimeError as e:  # under torchrun: the process group broke (gloo's and NCCL's errors)
            failure = compile_failed(e) if args.compile else None
            if failure:
                raise LSTMMnistError(f"--compile: torch.compile failed ({failure}); train without --compile") from None
            if not distributed.lost_a_worker(e):
                raise
            raise LSTMMnistError(f"a worker process was lost ({str(e).strip().splitlines()[-1][:200]}); {shown(out)} "
                                 f"holds the last checkpoint written; resume with: {torchrun_again(args, out)}"
                                 ) from None


def train_and_report(args: argparse.Namespace, out: Path, device: torch.device, model_config: ModelConfig,
                     config: TrainConfig, names: tuple[str, ...] | None, stored: dict | None,
                     stop: StopSignals) -> int:
    """Load the data, train (or resume), draw the curves and say what was written. A first Ctrl-C
    or SIGTERM (``stop``) while the data loads stops before training; in training, after a step."""
    try:
        data = load_mnist(args.data_dir, validation_size=config.validation_size).to(device)
    except SplitTooSmall as e:  # --validation-size too large for this data: the command line's fault
        if "validation_size" not in given(args, "train"):  # the default split: the data is too small
            raise
        raise UsageError(f"--validation-size {config.validation_size}: {e}") from None
    trained_on = check_same_data(args, stored, data, config) if stored is not None else None
    trained = len(training_split(data, config))  # the images trained on (--limit-train)
    length = run_length(config, trained)
    say(f"data: {trained} training, {len(data.val)} validation, {len(data.test)} "
        f"test images; {counted(length.total_steps, 'step')} in {counted(length.epochs, 'epoch')}")
    check_flags_against_run(args, length.epochs, stored)
    if stored is not None and not say_resuming(args.resume, stored, length):
        return 0
    if stop.requested:
        raise TrainingInterrupted("stopped before training started")
    say(f"parameters: {count_parameters(model_config):,}; checkpoint: {shown(out)}")
    options = RunOptions(log_every=args.log_every, stop_after=args.stop_after, compile=args.compile,
                         tensorboard=args.tensorboard, stop=stop, readable=args.readable, cuda_graphs=args.cuda_graphs)
    _, metrics = train(model_config, config, data, out, stored, options, names, trained_on)
    stop.at = f"the run is saved in {shown(out)}: finishing its report"
    written = [out, ckpt.metrics_path(out)]
    if args.figure and draw_training_figure(out, metrics):
        written.append(ckpt.figure_path(out))
    if metrics[-1]["event"] != "test":  # --stop-after ended the run early, as asked
        done = max(m["epoch"] for m in metrics if m["event"] == "epoch")
        say(f"stopped after epoch {done} of {length.epochs} (--stop-after); saved {shown(out)}; "
            f"resume with: {again('train.py', args, '--resume', out)}")
        return 0
    say(f"test accuracy: {100 * metrics[-1]['accuracy']:.2f}% ({counted(metrics[-1]['n'], 'image')})")
    say(f"saved {', '.join(map(shown, written))}; evaluate with: {again('evaluate.py', args, out)}")
    return 0


def check_flags_against_run(args: argparse.Namespace, epochs: int, stored: dict | None) -> None:
    """Flags that this run would leave without effect are refused, not ignored: a ``UsageError``
    for a --stop-after at or past the run's end or at or before where the resumed checkpoint stands
    (a --limit-train past the training split: training.training_split)."""
    if args.stop_after is None:
        return
    if args.stop_after >= epochs:
        raise UsageError(f"--stop-after {args.stop_after}: the run has {counted(epochs, 'epoch')} and ends "
                         "there anyway; stop after an earlier one, or leave it out")
    done = ckpt.progress(stored).epoch if stored is not None else 0
    if args.stop_after <= done:
        raise UsageError(f"--stop-after {args.stop_after}: {shown(args.resume)} has already trained "
                         f"{counted(done, 'epoch')}, so nothing would be trained or saved; stop after a later "
                         "epoch, or leave it out")


def check_same_data(args: argparse.Namespace, stored: dict, data, config: TrainConfig) -> dict:
    """A resumed run reads the images its checkpoint was trained and validated on (a ``UsageError``
    otherwise): on others (another --data-dir or MNIST_DIR, other or fewer MNIST files) it would go
    on silently as another run, neither exact nor the one it says it continues. Returns the data's
    fingerprint, for the checkpoints the run saves (``train``'s trained_on: computed once)."""
    fingerprint = data_fingerprint(data, config)
    for part, then, now in ckpt.other_data(stored, fingerprint)[:1]:
        what = "training" if part == "train" else "validation"
        count = (f"{then['n']:,} then, {now['n']:,} now" if then["n"] != now["n"] else
                 f"{counted(now['n'], 'image')} both times, but not the same ones")
        raise UsageError(f"--resume {shown(args.resume)}: was trained on other {what} images than the data read now "
                         f"({count}); resume with the data folder it was trained on (--data-dir), or start a new "
                         "run with --out")
    return fingerprint


def load_resumable(path: Path) -> dict:
    stored = ckpt.load(path)
    ckpt.check_resumable(stored, path)
    return stored


def say_resuming(path: Path, stored: dict, length: RunLength) -> bool:
    """Say where a resumed run continues; False if nothing is left to do. A length that ends before the
    point the checkpoint reached (an epoch, or a step of one, --train-samples included) is a ``UsageError``."""
    progress, epochs = ckpt.progress(stored), length.epochs
    if progress.epoch > epochs or (progress.epoch == epochs and progress.step) or \
            (progress.epoch < epochs and progress.step > length.steps_in_epoch(progress.epoch)):
        trained = counted(progress.epoch, "epoch") + (f" and {counted(progress.step, 'step')} of the next"
                                                      if progress.step else "")
        asked = (f"{counted(length.total_steps, 'step')} ({length.steps_in_epoch(epochs - 1)} in epoch {epochs})"
                 if progress.epoch == epochs - 1 else counted(epochs, "epoch"))
        raise UsageError(f"--resume {shown(path)}: has already trained {trained}, more than the {asked} asked for; "
                         "pass a larger --epochs (or --train-samples) to train further")
    if progress.epoch == epochs and ckpt.finished(stored):
        say(f"{shown(path)} has already trained the {counted(epochs, 'epoch')} asked for; pass a larger --epochs (or "
            "--train-samples) to train further")
        return False
    if progress.epoch >= epochs:
        say(f"resuming {shown(path)}: training is done; the test evaluation is left")
    else:
        step = f", step {progress.step + 1}" if progress.step else ""
        say(f"resuming {shown(path)} at epoch {progress.epoch + 1}{step}")
    return True


def check_outputs(out: Path, args: argparse.Namespace, model_config: ModelConfig) -> None:
    """Before any work: ``out`` and the files beside it can be written and replace nothing
    unasked; --compile has the compiler it needs."""
    continues_resumed = args.resume is not None and same_file(out, args.resume)
    may_replace = args.overwrite or continues_resumed
    needed = 3 * 4 * count_parameters(model_config) + 2**20  # weights and Adam's two moments in float32, and the rest
    # the MNIST files read are never written over, --overwrite or not (the files beside --out end in
    # .metrics.jsonl and .training.png, never an IDX file's name)
    from_resume = args.out is None and args.resume is not None  # a resumed run saves where it was read
    check_output_path(out, may_replace=may_replace, needed_bytes=needed, inputs=files_read_from(args.data_dir),
                      if_exists=f"continue it with --resume {path_word(out)}, choose another --out, or pass "
                                "--overwrite",
                      flag="--resume" if from_resume else "--out",
                      unwritable="a resumed run saves where it was read from: pass --out NEW.pt to continue into a "
                                 "file you can write" if from_resume else None)
    for beside in ckpt.files_beside(out):
        check_name_length(beside, "--out", given=out)
        if beside.exists() and not beside.is_file():  # found only when it is written, after the training
            raise UsageError(f"--out {shown(out)}: {shown(beside)}, written beside it, exists and is "
                             f"{kind(beside.stat().st_mode)}, not a file to replace; choose another --out")
        if beside.exists() and not may_replace:
            raise UsageError(f"--out {shown(out)}: {shown(beside)} exists beside it (another run's); choose another "
                             "--out, or pass --overwrite")
        why = unreplaceable(beside) if beside.exists() else None  # found only when it is written, after the training
        if why:
            raise UsageError(f"--out {shown(out)}: {shown(beside)}, written beside it, {why}; choose another --out")
    if args.tensorboard is not None:
        check_tensorboard(args.tensorboard, out, args.data_dir)


def check_tensorboard(folder: Path, out: Path, data_dir: Path | None) -> None:
    """--tensorboard: a folder of event files, made if its parent exists, added to if it exists; never
    the name of a file this run writes, nor the folder of the MNIST files it reads."""
    check_output_folder(folder, (), "--tensorboard")
    for written in (out, *ckpt.files_beside(out)):
        if same_file(folder, written):
            raise UsageError(f"--tensorboard {shown(folder)}: is the name of a file this run writes "
                             f"({shown(written)}, with --out {shown(out)}); choose another folder")
    for data_file in files_read_from(data_dir):
        if data_file.exists() and same_file(folder, data_file.parent):
            raise UsageError(f"--tensorboard {shown(folder)}: holds the MNIST files this run reads "
                             f"({shown(data_file.name)}); choose another folder for the logs")


def check_cuda_graphs(args: argparse.Namespace, device: torch.device) -> None:
    """--cuda-graphs where the step cannot be recorded: a usage error up front, not a failure in training."""
    reason = cuda_graph.unusable_because(device, args.compile, distributed.world_size()) if args.cuda_graphs else None
    if reason is not None:
        raise UsageError(reason)


def again(script: str, args: argparse.Namespace, *flags) -> str:
    """The command line that goes on from this run: ``script`` and ``continuing``'s words; train.py
    under torchrun as it ran, in as many processes."""
    words = continuing(script, args, *flags)
    if script == "train.py" and distributed.world_size() > 1:
        return named(" ".join([f"torchrun --nproc_per_node={distributed.world_size()} train.py", *words]))
    return " ".join([command_line(script), *words])


def torchrun_again(args: argparse.Namespace, out: Path) -> str:
    """``again``'s resume command, for torchrun's N processes."""
    return named(" ".join(["torchrun --nproc_per_node=N train.py", *continuing("train.py", args, "--resume", out)]))


def continuing(script: str, args: argparse.Namespace, *flags) -> list[str]:
    """``flags`` (option names, and paths), the data folder this run read, and for train.py the flags of
    how it ran (``running_flags``), as words to paste: a path that begins with '-' is written ./-x.pt,
    so that it is not read as an option."""
    data = ["--data-dir", args.data_dir] if args.data_dir is not None else []
    running = running_flags(args) if script == "train.py" else []
    return [path_word(w) if isinstance(w, Path) else shell_word(w) for w in [*flags, *data, *running]]


def running_flags(args: argparse.Namespace) -> list:
    """The flags of how this run ran, as given (the checkpoint keeps what it computes, not these): a
    resume without them would log at other steps (--log-every), stop logging to TensorBoard, draw the
    figure it was told not to, or run on another device or kernels: not the run it continues."""
    flags = (["--device", args.device] if args.device != "auto" else []) + \
        (["--log-every", str(args.log_every)] if args.log_every != RunOptions.log_every else []) + \
        (["--tensorboard", args.tensorboard] if args.tensorboard is not None else []) + \
        ([] if args.figure else ["--no-figure"])
    switches = ("deterministic", "readable", "compile", "cuda_graphs")
    return flags + [flag_of(name) for name in switches if getattr(args, name)]


def write_failed(e: OSError, out: Path, args: argparse.Namespace, started: float) -> str:
    """What went wrong writing one of this run's files, in one line: the file meant (not the temporary
    it was being written to, ``files.atomic_write``), a folder removed under the run said to be one,
    and the way to resume from the last checkpoint of this run, if there is one."""
    target = next((written for written in (out, *ckpt.files_beside(out))
                   if e.filename is not None and is_temporary_of(Path(os.fsdecode(e.filename)).name, written.name)),
                  Path(os.fsdecode(e.filename)) if e.filename is not None else None)
    if target is not None and not target.parent.exists():
        return (f"{shown(target)}: cannot be written: its folder {shown(target.parent)} was removed or renamed while "
                "the run went on; if renamed, resume from the checkpoint in it (--resume), else start again with an "
                "--out in a folder that exists")
    where = f"{shown(target)}: " if target is not None else ""
    flags = way_back(out, args, started)
    hint = ("" if flags is None else f"; resume with: {again('train.py', args, *flags)}" if flags[1] != out else
            f"; {shown(out)} holds the last checkpoint written: resume with: {again('train.py', args, *flags)}")
    return f"{where}{e.strerror or e}{hint}"


def way_back(out: Path, args: argparse.Namespace, started: float) -> list | None:
    """The flags that go on from where this run stopped: its own checkpoint ``out`` (the one it resumed in
    place, or one it saved), else the checkpoint it resumed, into ``out`` (an older file there is another
    run's, which --overwrite was about to replace); None for a new run that saved nothing."""
    in_place = args.resume is not None and same_file(out, args.resume)
    if out.exists() and (in_place or out.stat().st_mtime >= started):
        return ["--resume", out]
    if args.resume is not None:
        return ["--resume", args.resume, "--out", out] + (["--overwrite"] if out.exists() else [])
    return None


def interrupted(e: BaseException, out: Path, args: argparse.Namespace, started: float) -> int:
    """Ctrl-C or SIGTERM, in training (a checkpoint of the exact point was saved) or around it.
    The way to resume is given for a checkpoint of this run (``way_back``): the one it resumed, or one it
    saved (not an older run's file that --overwrite was about to replace)."""
    what = str(e) if isinstance(e, TrainingInterrupted) else "interrupted"
    flags = way_back(out, args, started)
    hint = f"; resume with: {again('train.py', args, *flags)}" if flags else ""
    say(f"{program_name('train.py')}: {what}{hint}", file=sys.stderr)  # first: drawing takes seconds
    if flags and flags[1] == out and args.figure:  # this run's checkpoint: its curves
        try:
            draw_training_figure(out, ckpt.load(out).get("metrics", []))
        except KeyboardInterrupt:  # one more Ctrl-C: the checkpoint and the way back are already there
            pass
    return INTERRUPTED


def draw_training_figure(out: Path, metrics: list[dict]) -> bool:
    """The loss and accuracy curves of ``metrics``, drawn beside checkpoint ``out`` (rank 0
    only). The checkpoint is already safe: a missing matplotlib only warns."""
    if not distributed.is_main():
        return False
    try:
        figures.training_curves(metrics, ckpt.figure_path(out))
    except LSTMMnistError as e:
        print(f"{program_name('train.py')}: no figure drawn: {e}", file=sys.stderr)
        return False
    return True


def command() -> int:
    """The entry point of ``python train.py`` and of the ``lstm-mnist-train`` command."""
    try:
        return run(main, program_name("train.py"))
    finally:
        distributed.teardown()


if __name__ == "__main__":
    sys.exit(command())
