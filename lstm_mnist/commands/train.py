"""Train the row-by-row LSTM on MNIST and write a checkpoint.

    python train.py                      # 3 epochs, batch 128, Adam 0.003 decayed to 0: about 98.5%
    python train.py --device cpu --limit-train 5000 --epochs 1   # a quick look
    python train.py --resume checkpoint.pt --epochs 5             # 2 more epochs
    torchrun --nproc_per_node=2 train.py                          # data-parallel, 2 processes
"""

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from lstm_mnist import LSTMClassifier, ModelConfig
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import distributed, figures
from lstm_mnist.cli import (INTERRUPTED, ArgumentParser, HelpFormatter, add_data_dir_flag, add_device_flag,
                            batch_size, check_model_size, check_output_path, class_names, command_line,
                            device_from_flag, finite_float, positive_float, positive_int, program_name, run, seed)
from lstm_mnist.data import load_mnist
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.model import CELLS
from lstm_mnist.presets import PRESETS, initialize
from lstm_mnist.training import Progress, TrainConfig, TrainingInterrupted, fit, make_deterministic, schedule

MODEL_DEFAULTS, TRAIN_DEFAULTS = ModelConfig(), TrainConfig()


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog=program_name("train.py"), formatter_class=HelpFormatter,
                            description=__doc__.replace("python train.py", command_line("train.py")))
    model = parser.add_argument_group("model (fixed once training starts; --resume takes them from the checkpoint)")
    model.add_argument("--cell", choices=CELLS, default=None,
                       help="the recurrent cell: the LSTM, or a plain RNN or a GRU to compare it with "
                            f"(default: {MODEL_DEFAULTS.cell})")
    model.add_argument("--hidden-size", type=positive_int, default=None, metavar="H",
                       help=f"hidden units H (default: {MODEL_DEFAULTS.hidden_size})")
    model.add_argument("--forget-bias", type=finite_float, default=None, metavar="B",
                       help=f"constant added to the LSTM's forget gate, as TensorFlow's BasicLSTMCell "
                            f"(default: {MODEL_DEFAULTS.forget_bias})")
    model.add_argument("--input-projection", action="store_true", default=None,
                       help="a linear 28->H layer before the cell, as seeds 002 and 003 (default: off)")
    model.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                       help="standardise pixels with MNIST's mean and std before the cell; --no-normalize "
                            "feeds them in [0, 1] as the seeds did (default: on)")
    training = parser.add_argument_group("training")
    training.add_argument("--preset", choices=sorted(PRESETS), default=None,
                          help="start from a seed tutorial's configuration, or the best one found (see the "
                               "README's results table); flags given beside it override it")
    training.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                          help=f"total epochs; with --resume, train until this many are done "
                               f"(default: {TRAIN_DEFAULTS.epochs})")
    training.add_argument("--train-samples", type=positive_int, default=None, metavar="N",
                          help="train for as many steps as the seeds' `while step * batch_size < N` "
                               "(from step 1: 781 steps for 100000), instead of --epochs")
    training.add_argument("--batch-size", type=batch_size, default=None, metavar="N",
                          help=f"images per step (default: {TRAIN_DEFAULTS.batch_size})")
    training.add_argument("--lr", type=positive_float, default=None,
                          help=f"Adam learning rate at the first step (default: {TRAIN_DEFAULTS.lr}; "
                               "the seeds used 0.001)")
    training.add_argument("--lr-schedule", choices=("cosine", "constant"), default=None,
                          help="cosine: decay the learning rate to 0 over the whole run; constant: as the seeds "
                               f"(default: {TRAIN_DEFAULTS.lr_schedule})")
    training.add_argument("--clip-grad-norm", type=positive_float, default=None, metavar="MAX",
                          help="rescale the gradients when their total norm exceeds MAX (default: no clipping)")
    training.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                          help="randomly rotate (up to 10 degrees), scale (up to 10%%) and shift (up to 2 pixels) "
                               "every training image (default: off)")
    training.add_argument("--init", choices=("pytorch", "normal", "normal-bias0.1"), default=None,
                          help="initialisation of the head and the projection: PyTorch's, or the seeds' "
                               f"tf.random_normal (default: {TRAIN_DEFAULTS.init})")
    training.add_argument("--class-names", type=class_names, default=None, metavar="NAMES",
                          help="what labels 0..9 mean, comma-separated, for data sets other than MNIST's digits "
                               "(e.g. Fashion-MNIST's); stored in the checkpoint for evaluate.py's reports")
    training.add_argument("--seed", type=seed, default=None, metavar="N",
                          help=f"random seed for the weights and the batch order (default: {TRAIN_DEFAULTS.seed})")
    training.add_argument("--limit-train", type=positive_int, default=None, metavar="N",
                          help="train on the first N of the 55,000 training images only (default: all)")
    io = parser.add_argument_group("data, device, files and running")
    add_data_dir_flag(io)
    add_device_flag(io)
    io.add_argument("--out", type=Path, default=None, metavar="PATH",
                    help="checkpoint to write after every epoch; the metrics go beside it as .metrics.jsonl "
                         "(default: checkpoint.pt, or the --resume file)")
    io.add_argument("--resume", type=Path, default=None, metavar="PATH",
                    help="continue training from this checkpoint, exactly where it stopped")
    io.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    io.add_argument("--stop-after", type=positive_int, default=None, metavar="N",
                    help="stop once N epochs are done, leaving a checkpoint to --resume (a lesson-sized "
                         "piece of a longer run; the learning-rate schedule still spans --epochs)")
    io.add_argument("--deterministic", action="store_true",
                    help="bit-reproducible kernels on CUDA too (CPU runs already are; on CUDA it can be slower)")
    io.add_argument("--compile", action="store_true",
                    help="run the training steps through torch.compile: faster once compiled, but the "
                         "compilation takes about a minute on a CPU (same results within float rounding)")
    io.add_argument("--tensorboard", type=Path, default=None, metavar="DIR",
                    help="also log the metrics for TensorBoard in DIR (needs: pip install tensorboard)")
    io.add_argument("--figure", action=argparse.BooleanOptionalAction, default=True,
                    help="draw the loss and accuracy curves beside the checkpoint, as .training.png "
                         "(default: on; needs matplotlib)")
    io.add_argument("--log-every", type=positive_int, default=50, metavar="STEPS",
                    help="update the progress bar's loss and accuracy, and log them to the metrics and the "
                         "figure, every this many steps (default: 50)")
    return parser


MODEL_FIELDS = set(asdict(MODEL_DEFAULTS))
LENGTH_FIELDS = ("epochs", "train_samples")  # how long to train: the one thing a resumed run may change


def explicit_flags(args) -> dict:
    """The config fields given on the command line (flags left out are None)."""
    fields = MODEL_FIELDS | set(asdict(TRAIN_DEFAULTS))
    return {k: v for k, v in vars(args).items() if k in fields and v is not None}


def with_length(config: dict, flags: dict) -> dict:
    """An explicit --epochs replaces a --train-samples length, and the other way round."""
    if "epochs" in flags:
        return config | {"epochs": flags["epochs"], "train_samples": None}
    if "train_samples" in flags:
        return config | {"epochs": None, "train_samples": flags["train_samples"]}
    return config


def settings(args, stored_model: dict | None, stored_train: dict | None, parser) -> tuple[ModelConfig, TrainConfig]:
    """The effective configuration: the defaults, then the --preset, then explicit flags; or, on
    --resume, the checkpoint's, of which only the length (--epochs, --train-samples) may change."""
    flags = explicit_flags(args)
    if stored_model is None:
        base = asdict(MODEL_DEFAULTS) | asdict(TRAIN_DEFAULTS)
        if args.preset is not None:
            base |= PRESETS[args.preset] | {"preset": args.preset}
        merged = with_length(base | flags, flags)
    else:
        if args.preset is not None:
            parser.error("--preset cannot be combined with --resume: a resumed run keeps its settings")
        stored = stored_model | stored_train
        for key, value in flags.items():
            if key not in LENGTH_FIELDS and value != stored[key]:
                parser.error(f"--{key.replace('_', '-')} {value} differs from the checkpoint's {stored[key]}; "
                             "a resumed run keeps its settings (only --epochs or --train-samples may change)")
        merged = with_length(stored, flags)
    if merged["cell"] != "lstm" and "forget_bias" in flags:
        parser.error(f"--forget-bias is the LSTM's; a {merged['cell'].upper()} cell has no forget gate")
    model = ModelConfig(**{k: v for k, v in merged.items() if k in MODEL_FIELDS})
    train = TrainConfig(**{k: v for k, v in merged.items() if k not in MODEL_FIELDS})
    return model, train


def say(*args, **kwargs) -> None:
    """print, on rank 0 only when torchrun started several processes."""
    if distributed.is_main():
        print(*args, **kwargs)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    out = args.out or args.resume or Path("checkpoint.pt")
    if args.deterministic:
        make_deterministic()  # before CUDA does any work
    device, device_line = device_from_flag(parser, args.device)
    if distributed.launched_by_torchrun():
        device = distributed.setup(device)
        device_line += f"; {distributed.world_size()} processes (torchrun), {device} on this one"

    stored = None
    if args.resume is not None:
        stored = ckpt.load(args.resume)
        if not isinstance(stored.get("train_config"), dict) or not isinstance(stored.get("progress"), dict):
            raise ckpt.CheckpointError(f"{args.resume}: holds no training state to resume (no train_config/progress)")
    model_config, config = settings(
        args,
        asdict(ckpt.model_config(stored, args.resume)) if stored else None,
        stored["train_config"] if stored else None,
        parser,
    )
    progress = Progress(**stored["progress"]) if stored else Progress()
    check_model_size(parser, model_config, device)

    torch.manual_seed(config.seed)
    if stored is None:
        model = LSTMClassifier.from_config(model_config)
        initialize(model, config.init)
    else:
        model = ckpt.build_model(stored, args.resume)
    n_parameters = sum(p.numel() for p in model.parameters())
    try:  # weights and Adam's two moments in float32, plus room for the rest
        same_file = args.resume is not None and out.resolve() == args.resume.resolve()
        check_output_path(out, may_replace=args.overwrite or same_file, needed_bytes=3 * 4 * n_parameters + 2**20,
                          if_exists=f"continue it with --resume {out}, choose another --out, or pass --overwrite")
    except ValueError as e:
        parser.error(str(e))
    if distributed.is_main():  # one process cleans up
        for stale in ckpt.remove_stale_temporaries(out) + ckpt.remove_stale_temporaries(ckpt.metrics_path(out)):
            print(f"removed {stale}, left by a run that was killed while writing")

    say(device_line + (" (deterministic)" if args.deterministic else ""))
    say(f"model: {model_config}")
    say(f"training: {config}")
    data = load_mnist(args.data_dir).to(device)
    n_train = min(len(data.train), config.limit_train or len(data.train))
    plan = schedule(config, n_train)
    say(f"data: {n_train} training, {len(data.val)} validation, {len(data.test)} test images; "
        f"{plan.total_steps} steps in {plan.epochs} epoch(s)")
    if progress.epoch >= plan.epochs:
        say(f"{args.resume} has already trained {progress.epoch} of {plan.epochs} epochs; "
            "pass a larger --epochs to train further")
        return 0

    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    metrics = []
    if stored is not None:
        optimizer.load_state_dict(stored["optimizer"])
        metrics = stored.get("metrics", [])
        torch.set_rng_state(stored["rng"]["torch"])
        if device.type == "cuda" and "cuda" in stored["rng"]:
            torch.cuda.set_rng_state_all(stored["rng"]["cuda"])
        where = f"epoch {progress.epoch + 1}" + (f", step {progress.step + 1}" if progress.step else "")
        say(f"resuming {args.resume} at {where}")
    say(f"parameters: {n_parameters:,}; checkpoint: {out}")

    try:
        metrics = fit(model, optimizer, data, config, out, progress, metrics,
                      log_every=args.log_every, stop_after=args.stop_after, compile_model=args.compile,
                      tensorboard=args.tensorboard)
    except TrainingInterrupted as e:
        if args.figure:
            draw_training_figure(out)
        say(f"{program_name('train.py')}: {e}; resume with: {command_line('train.py')} --resume {out}",
            file=sys.stderr)
        return INTERRUPTED
    written = [out, ckpt.metrics_path(out)]
    if args.figure and draw_training_figure(out):
        written.append(ckpt.figure_path(out))
    if args.stop_after is not None and args.stop_after < plan.epochs:  # fit stopped there, as asked
        say(f"stopped after epoch {max(args.stop_after, progress.epoch)} of {plan.epochs} (--stop-after); "
            f"saved {out}; resume with: {command_line('train.py')} --resume {out}")
        return 0
    test = metrics[-1]
    say(f"test accuracy: {100 * test['accuracy']:.2f}% ({test['n']} images)")
    say(f"saved {', '.join(map(str, written))}; evaluate with: {command_line('evaluate.py')} {out}")
    return 0


def draw_training_figure(out: Path) -> bool:
    """The loss and accuracy curves of the metrics beside checkpoint ``out``, drawn beside it
    (rank 0 only). The checkpoint is already safe: a missing matplotlib only warns."""
    if not distributed.is_main():
        return False
    metrics = ckpt.load(out)["metrics"]
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
