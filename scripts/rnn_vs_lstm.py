"""Why an LSTM and not a plain RNN: train both (and a GRU) the same way, measure how much of the
loss gradient reaches each row, before and after training, and draw it.

    python scripts/rnn_vs_lstm.py --data-dir DIR        # lstm, gru, rnn: 3 epochs each, about 2 min on 2 CPU cores
    python scripts/rnn_vs_lstm.py --data-dir DIR --cells rnn lstm --epochs 1

Every cell gets the same budget and settings: those of ``python train.py --cell CELL`` (3 epochs,
batch 128, Adam from 0.003 with a cosine decay, the same seed), so each accuracy printed here is
what that command reaches. The gradient is ``lstm_mnist.gradients.gradient_per_row`` on the
same images for every model (the first --gradient-images validation images), at initialisation
and after training; for each cell also the largest singular value of its recurrent weights
``weight_hh`` (the RNN's factor per row), at initialisation and after training. Writes, in
--out (default: results/rnn_vs_lstm/): ``gradient_per_row.png`` (the figure) and
``rnn_vs_lstm.json`` (every number), never replacing a file there unless --overwrite is given
(the committed figure is regenerated with ``--out docs/figures --overwrite``); with
--checkpoints DIR, the trained models too.
"""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lstm_mnist  # noqa: E402,F401  before PyTorch: Ctrl-C while it loads is one line (lstm_mnist/startup.py)
import torch  # noqa: E402

from lstm_mnist import figures  # noqa: E402
from lstm_mnist.cli import (ArgumentParser, Distinct, HelpFormatter, add_data_dir_flag, add_device_flag,  # noqa: E402
                            check_model_size, check_output_folder, device_from_flag, docstring, nonempty_path,
                            positive_int, run, seed)
from lstm_mnist.data import load_mnist  # noqa: E402
from lstm_mnist.errors import UsageError  # noqa: E402
from lstm_mnist.files import shown, write_json  # noqa: E402
from lstm_mnist.gradients import gradient_per_row  # noqa: E402
from lstm_mnist.model import CELLS, ModelConfig, RecurrentClassifier  # noqa: E402
from lstm_mnist.training import TrainConfig, TrainingDiverged, train, training_split  # noqa: E402
from lstm_mnist.words import counted  # noqa: E402

OUTPUTS = ("gradient_per_row.png", "rnn_vs_lstm.json")  # in --out


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="scripts/rnn_vs_lstm.py", formatter_class=HelpFormatter,
                            description=docstring(__doc__, __file__))
    parser.add_argument("--cells", nargs="+", action=Distinct, choices=CELLS, default=["lstm", "gru", "rnn"],
                        help="the cells to compare (default: lstm gru rnn)")
    parser.add_argument("--epochs", type=positive_int, default=TrainConfig().epochs, metavar="N",
                        help=f"the budget, the same for every cell (default: {TrainConfig().epochs})")
    parser.add_argument("--hidden-size", type=positive_int, default=128, metavar="H", help="units (default: 128)")
    parser.add_argument("--seed", type=seed, default=0, help="the seed of every run (default: 0)")
    parser.add_argument("--limit-train", type=positive_int, default=None, metavar="N",
                        help="train on the first N training images only (default: all 55,000)")
    parser.add_argument("--gradient-images", type=positive_int, default=1000, metavar="N",
                        help="measure the gradient on the first N validation images (default: 1000)")
    parser.add_argument("--out", type=nonempty_path, default=Path("results/rnn_vs_lstm"), metavar="DIR",
                        help="where to write gradient_per_row.png and rnn_vs_lstm.json "
                             "(default: results/rnn_vs_lstm)")
    parser.add_argument("--overwrite", action="store_true", help="replace those files if they exist in --out")
    parser.add_argument("--checkpoints", type=nonempty_path, default=None, metavar="DIR",
                        help="also keep the trained models there, as CELL.pt (default: not kept)")
    add_data_dir_flag(parser)
    add_device_flag(parser)
    return parser


def compare(args, device: torch.device, work: Path) -> dict:
    data = load_mnist(args.data_dir).to(device)
    if args.gradient_images > len(data.val):  # it would be cut to the validation set, unsaid
        raise UsageError(f"--gradient-images {args.gradient_images}: the validation set has "
                         f"{counted(len(data.val), 'image')}; at most that many")
    images = data.val.images[: args.gradient_images]  # (N, T, I): the same batch for every model
    labels = data.val.labels[: args.gradient_images]
    config = TrainConfig(epochs=args.epochs, seed=args.seed, limit_train=args.limit_train)
    training_split(data, config)  # a --limit-train past the training split: a UsageError now, not at the first train()
    results = {}
    for cell in args.cells:
        model_config = ModelConfig(hidden_size=args.hidden_size, cell=cell)
        torch.manual_seed(config.seed)  # as train() does: the model it starts from
        fresh = RecurrentClassifier(model_config).to(device)
        at_init = gradient_per_row(fresh, images, labels)  # (T,)
        sigma_at_init = largest_singular_value(fresh)
        print(f"{cell.upper()}: training for {counted(config.epochs, 'epoch')}...", flush=True)
        start = time.perf_counter()
        try:
            model, metrics = train(model_config, config, data, work / f"{cell}.pt")
            test = metrics[-1]
            val = [m for m in metrics if m["event"] == "epoch"][-1]
            outcome = {"test_accuracy": test["accuracy"], "val_accuracy": val["val_accuracy"]}
        except TrainingDiverged as e:
            outcome = {"test_accuracy": None, "val_accuracy": None, "diverged": str(e)}
            model = None  # its weights hold NaN: no gradient to measure
        trained = gradient_per_row(model, images, labels) if model is not None else torch.full((images.size(1),), float("nan"))
        results[cell] = {
            **outcome,
            "seconds": time.perf_counter() - start,
            "gradient_at_init": at_init.tolist(),
            "gradient_trained": trained.tolist(),
            "first_to_last_at_init": (at_init[0] / at_init[-1]).item(),  # row 0's share of row 27's gradient
            "first_to_last_trained": (trained[0] / trained[-1]).item(),
            "weight_hh_largest_singular_value_at_init": sigma_at_init,
            "weight_hh_largest_singular_value_trained": None if model is None else largest_singular_value(model),
        }
    return {"config": {"epochs": config.epochs, "hidden_size": args.hidden_size, "seed": config.seed,
                       "limit_train": config.limit_train, "lr": config.lr, "lr_schedule": config.lr_schedule,
                       "batch_size": config.batch_size, "gradient_images": len(images)},
            "device": str(device), "torch": str(torch.__version__), "results": results}


def largest_singular_value(model) -> float:
    """The spectral norm of the cell's recurrent weights ``weight_hh`` (all gates' blocks, (4H, H) for
    the LSTM): how much one step can stretch the state, before the non-linearities."""
    return torch.linalg.matrix_norm(model.cell.weight_hh.detach(), ord=2).item()


def report(summary: dict) -> str:
    lines = [f"{'cell':<5} {'test accuracy':>13} {'training':>9}   gradient reaching row 0 / row 27: "
             f"{'at init':>9} {'trained':>9}"]
    for cell, r in summary["results"].items():
        accuracy = "diverged" if r["test_accuracy"] is None else f"{100 * r['test_accuracy']:.2f}%"
        lines.append(f"{cell.upper():<5} {accuracy:>13} {r['seconds']:>7.0f} s   {'':>34}"
                     f"{r['first_to_last_at_init']:>9.2e} {r['first_to_last_trained']:>9.2e}")
    return "\n".join(lines)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    device, device_line = device_from_flag(parser, args.device)
    # a missing --out or --checkpoints folder is made, not the folders above it
    check_output_folder(args.out, OUTPUTS, flag="--out")
    taken = [args.out / name for name in OUTPUTS if (args.out / name).exists()]
    if args.checkpoints is not None:
        models = [name for cell in args.cells for name in (f"{cell}.pt", f"{cell}.metrics.jsonl")]  # what train() writes
        check_output_folder(args.checkpoints, models, flag="--checkpoints")
        taken += [args.checkpoints / name for name in models if (args.checkpoints / name).exists()]
    if taken and not args.overwrite:
        parser.error(f"{shown(taken[0])} exists: give --overwrite to replace it, or choose another folder")
    for cell in args.cells:
        check_model_size(ModelConfig(hidden_size=args.hidden_size, cell=cell), device)
    print(device_line)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.checkpoints or Path(scratch)
        work.mkdir(exist_ok=True)
        summary = compare(args, device, work)
    args.out.mkdir(exist_ok=True)
    config = summary["config"]
    figure = figures.gradient_per_row(
        summary["results"], args.out / OUTPUTS[0],
        title=f"gradient of the loss reaching each row ({counted(config['gradient_images'], 'validation image')}; "
              f"{counted(config['epochs'], 'epoch')}, {counted(config['hidden_size'], 'unit')})")
    numbers = args.out / OUTPUTS[1]
    write_json(numbers, summary)
    print(report(summary))
    print(f"wrote {figure} and {numbers}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "scripts/rnn_vs_lstm.py"))
