"""Train the row-by-row LSTM on MNIST and write a checkpoint.

    python train.py                      # 3 epochs, batch 128, Adam 0.003 decayed to 0: about 98.5%
    python train.py --device cpu --limit-train 5000 --epochs 1   # a quick look
    python train.py --resume checkpoint.pt --epochs 5             # 2 more epochs
"""

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from lstm_mnist import LSTMClassifier, ModelConfig
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.cli import (INTERRUPTED, ArgumentParser, HelpFormatter, check_output_path, device_name,
                            finite_float, non_negative_int, positive_float, positive_int, resolve_device, run)
from lstm_mnist.data import default_data_dir, load_mnist
from lstm_mnist.training import Progress, TrainConfig, TrainingInterrupted, fit, make_deterministic

MODEL_DEFAULTS, TRAIN_DEFAULTS = ModelConfig(), TrainConfig()


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="train.py", description=__doc__, formatter_class=HelpFormatter)
    model = parser.add_argument_group("model (fixed once training starts; --resume takes them from the checkpoint)")
    model.add_argument("--hidden-size", type=positive_int, default=None, metavar="H",
                       help=f"LSTM hidden units H (default: {MODEL_DEFAULTS.hidden_size})")
    model.add_argument("--forget-bias", type=finite_float, default=None, metavar="B",
                       help=f"constant added to the forget gate, as TensorFlow's BasicLSTMCell "
                            f"(default: {MODEL_DEFAULTS.forget_bias})")
    model.add_argument("--input-projection", action="store_true", default=None,
                       help="a linear 28->H layer before the cell, as seeds 002 and 003 (default: off)")
    model.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                       help="standardise pixels with MNIST's mean and std before the cell; --no-normalize "
                            "feeds them in [0, 1] as the seeds did (default: on)")
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                          help=f"total epochs; with --resume, train until this many are done "
                               f"(default: {TRAIN_DEFAULTS.epochs})")
    training.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                          help=f"images per step (default: {TRAIN_DEFAULTS.batch_size})")
    training.add_argument("--lr", type=positive_float, default=None,
                          help=f"Adam learning rate at the first step (default: {TRAIN_DEFAULTS.lr}; "
                               "the seeds used 0.001)")
    training.add_argument("--lr-schedule", choices=("cosine", "constant"), default=None,
                          help="cosine: decay the learning rate to 0 over all epochs; constant: as the seeds "
                               f"(default: {TRAIN_DEFAULTS.lr_schedule})")
    training.add_argument("--seed", type=non_negative_int, default=None, metavar="N",
                          help=f"random seed for the weights and the batch order (default: {TRAIN_DEFAULTS.seed})")
    training.add_argument("--limit-train", type=positive_int, default=None, metavar="N",
                          help="train on the first N of the 55,000 training images only (default: all)")
    io = parser.add_argument_group("data, device, files and running")
    io.add_argument("--data-dir", type=Path, default=default_data_dir(), metavar="DIR",
                    help="folder with the four MNIST IDX files (.gz or raw); default: $MNIST_DIR, "
                         "else ./data, else a download into ./data")
    io.add_argument("--device", type=device_name, default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N (default: auto)")
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
    io.add_argument("--log-every", type=positive_int, default=50, metavar="STEPS",
                    help="update the progress bar's loss and accuracy every this many steps (default: 50)")
    return parser


def settings(args, stored_model: dict | None, stored_train: dict | None, parser) -> tuple[ModelConfig, TrainConfig]:
    """The effective configuration: defaults, or the checkpoint's, overridden by explicit flags
    (on --resume only --epochs may change)."""
    model_flags = {"hidden_size": args.hidden_size, "forget_bias": args.forget_bias,
                   "input_projection": args.input_projection, "normalize": args.normalize}
    train_flags = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                   "lr_schedule": args.lr_schedule,
                   "seed": args.seed, "limit_train": args.limit_train}
    if stored_model is None:
        model = asdict(MODEL_DEFAULTS) | {k: v for k, v in model_flags.items() if v is not None}
        train = asdict(TRAIN_DEFAULTS) | {k: v for k, v in train_flags.items() if v is not None}
        return ModelConfig(**model), TrainConfig(**train)
    for stored, flags in ((stored_model, model_flags), (stored_train, train_flags)):
        for key, value in flags.items():
            if value is not None and key != "epochs" and value != stored[key]:
                parser.error(f"--{key.replace('_', '-')} {value} differs from the checkpoint's {stored[key]}; "
                             "a resumed run keeps its settings (only --epochs may change)")
    train = dict(stored_train) | ({"epochs": args.epochs} if args.epochs is not None else {})
    return ModelConfig(**stored_model), TrainConfig(**train)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    out = args.out or args.resume or Path("checkpoint.pt")
    if args.deterministic:
        make_deterministic()  # before CUDA does any work
    try:
        device, device_line = resolve_device(args.device)
    except ValueError as e:
        parser.error(str(e))

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
    if progress.epoch >= config.epochs:
        print(f"{args.resume} has already trained {progress.epoch} of {config.epochs} epochs; "
              "pass a larger --epochs to train further")
        return 0

    torch.manual_seed(config.seed)
    model = LSTMClassifier.from_config(model_config) if stored is None else ckpt.build_model(stored, args.resume)
    n_parameters = sum(p.numel() for p in model.parameters())
    try:  # weights and Adam's two moments in float32, plus room for the rest
        same_file = args.resume is not None and out.resolve() == args.resume.resolve()
        check_output_path(out, may_replace=args.overwrite or same_file, needed_bytes=3 * 4 * n_parameters + 2**20)
    except ValueError as e:
        parser.error(str(e))
    for stale in ckpt.remove_stale_temporaries(out) + ckpt.remove_stale_temporaries(ckpt.metrics_path(out)):
        print(f"removed {stale}, left by a run that was killed while writing")

    print(device_line + (" (deterministic)" if args.deterministic else ""))
    print(f"model: {model_config}")
    print(f"training: {config}")
    data = load_mnist(args.data_dir).to(device)
    n_train = min(len(data.train), config.limit_train or len(data.train))
    print(f"data: {n_train} training, {len(data.val)} validation, {len(data.test)} test images")

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
        print(f"resuming {args.resume} at {where}")
    print(f"parameters: {n_parameters:,}; checkpoint: {out}")

    try:
        metrics = fit(model, optimizer, data, config, out, progress, metrics,
                      log_every=args.log_every, stop_after=args.stop_after)
    except TrainingInterrupted as e:
        print(f"train.py: {e}; resume with: python train.py --resume {out}", file=sys.stderr)
        return INTERRUPTED
    if metrics[-1]["event"] != "test":
        print(f"stopped after epoch {metrics[-1]['epoch']} of {config.epochs} (--stop-after); "
              f"saved {out}; resume with: python train.py --resume {out}")
        return 0
    test = metrics[-1]
    print(f"test accuracy: {100 * test['accuracy']:.2f}% ({test['n']} images)")
    print(f"saved {out} and {ckpt.metrics_path(out)}; evaluate with: python evaluate.py {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "train.py"))
