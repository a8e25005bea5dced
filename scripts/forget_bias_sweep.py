"""What gives the LSTM its start: the forget bias, measured at initialisation.

    python scripts/forget_bias_sweep.py --data-dir DIR      # about 1 minute on 2 CPU cores

For each seed and each forget bias (and the GRU, which has none), builds the untrained model
that ``python train.py --seed S --forget-bias B`` (``--cell gru``) starts from and measures, with
``lstm_mnist.gradients.gradient_per_row`` on the first --gradient-images validation images, how
much of the loss gradient reaches each row; the table gives row 0's gradient divided by row
27's. It also measures why that ratio is not simply (mean f)^27: the same ratio when the
gradient may only travel back along the memory c (h detached at every step) is close to it;
the rest comes back through h and W_hh. Writes, in --out (default: results/forget_bias_sweep/, never
replacing a file there unless --overwrite is given): ``forget_bias_sweep.png`` (seed 0's
gradient per row for each model) and ``forget_bias_sweep.json`` (every number).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lstm_mnist  # noqa: E402,F401  before PyTorch: Ctrl-C while it loads is one line (lstm_mnist/startup.py)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402

from lstm_mnist import LSTMClassifier, figures  # noqa: E402
from lstm_mnist.cell import LSTMState  # noqa: E402
from lstm_mnist.cli import (ArgumentParser, Distinct, HelpFormatter, add_data_dir_flag, check_model_size,  # noqa: E402
                            check_output_folder, docstring, finite_float, nonempty_path, positive_int, run, seed)
from lstm_mnist.data import load_mnist  # noqa: E402
from lstm_mnist.files import shown, write_json  # noqa: E402
from lstm_mnist.model import ModelConfig  # noqa: E402
from lstm_mnist.gradients import gradient_per_row  # noqa: E402
from lstm_mnist.words import counted  # noqa: E402

OUTPUTS = ("forget_bias_sweep.png", "forget_bias_sweep.json")  # in --out


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="scripts/forget_bias_sweep.py", formatter_class=HelpFormatter,
                            description=docstring(__doc__, __file__))
    parser.add_argument("--forget-biases", type=finite_float, nargs="+", action=Distinct, default=[0.0, 1.0, 2.0],
                        metavar="B",
                        help="the LSTM's forget biases to measure (default: 0 1 2)")
    parser.add_argument("--seeds", type=seed, nargs="+", action=Distinct, default=[0, 1, 2], help="(default: 0 1 2)")
    parser.add_argument("--hidden-size", type=positive_int, default=128, metavar="H", help="units (default: 128)")
    parser.add_argument("--gradient-images", type=positive_int, default=1000, metavar="N",
                        help="measure on the first N validation images (default: 1000)")
    parser.add_argument("--out", type=nonempty_path, default=Path("results/forget_bias_sweep"), metavar="DIR",
                        help="where to write the figure and the numbers (default: results/forget_bias_sweep)")
    parser.add_argument("--overwrite", action="store_true", help="replace those files if they exist in --out")
    add_data_dir_flag(parser)
    return parser


@torch.no_grad()
def mean_forget_gate(model, images) -> float:
    """The mean of the forget gate f_t over the rows, units and ``images`` (N, T, I)."""
    records = []
    model.read(model.rows(images), records=records)
    return torch.stack([record["f"] for record in records]).mean().item()  # over (T, N, H)


def gradient_along_memory(model, images, labels) -> Tensor:
    """Like ``gradient_per_row``, but the gradient may travel back along the memory c only: h is
    detached before each step, so no path goes through h_{t-1} and W_hh. (T,)"""
    x = model.rows(images).detach().requires_grad_(True)  # (N, T, I)
    state = model.cell.zero_state(len(x), like=x)
    for input_ in x.unbind(dim=1):  # the loop of model.read, with the h path cut
        output, state = model.cell(input_, LSTMState(h=state.h.detach(), c=state.c))
    loss = F.cross_entropy(model.head(output), labels, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)  # (N, T, I)
    return grad.norm(dim=2).mean(dim=0)  # (T,)


def measure(args) -> dict:
    val = load_mnist(args.data_dir).val
    images, labels = val.images[: args.gradient_images], val.labels[: args.gradient_images]
    models = [(f"LSTM, forget_bias {bias:g}", {"forget_bias": bias}) for bias in args.forget_biases]
    models.append(("GRU (no forget bias)", {"cell": "gru"}))
    results = {}
    for name, fields in models:
        runs = []
        for seed_ in args.seeds:
            torch.manual_seed(seed_)  # as train.py --seed does before building the model
            model = LSTMClassifier(hidden_size=args.hidden_size, **fields)
            gradient = gradient_per_row(model, images, labels)  # (T,)
            run_ = {"seed": seed_, "gradient": gradient.tolist(), "first_to_last": (gradient[0] / gradient[-1]).item()}
            if model.config.cell == "lstm":
                memory = gradient_along_memory(model, images, labels)
                f = mean_forget_gate(model, images)
                run_ |= {"mean_f": f, "mean_f_to_the_27": f ** 27, "first_to_last_along_c_only": (memory[0] / memory[-1]).item()}
            runs.append(run_)
            print(f"{name}, seed {seed_}: row 0 / row 27 = {run_['first_to_last']:.2g}", flush=True)
        results[name] = runs
    return {"config": {"hidden_size": args.hidden_size, "gradient_images": len(images), "seeds": args.seeds},
            "results": results}


def table(summary: dict) -> str:
    """The markdown table of the README and the walkthrough."""
    seeds = summary["config"]["seeds"]
    seed_words = ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))  # "seed 0", "seeds 0, 1, 2"
    lines = [f"| model, at initialisation | gradient reaching row 0 ÷ row 27, {seed_words}"
             + " | mean f | (mean f)^27 | row 0 ÷ row 27 along c alone (h detached) |", "|---|---|---|---|---|"]
    for name, runs in summary["results"].items():
        ratios = ", ".join(f"{r['first_to_last']:.2g}" for r in runs)
        if "mean_f" in runs[0]:
            f = runs[0]
            gates = f"{f['mean_f']:.2f} | {f['mean_f_to_the_27']:.1g} | {f['first_to_last_along_c_only']:.1g}"
        else:
            gates = "– | – | –"
        lines.append(f"| {name} | {ratios} | {gates} |")
    images = counted(summary["config"]["gradient_images"], "image")
    return "\n".join(lines) + f"\n(the gate columns: seed {seeds[0]}, {images})"


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    check_output_folder(args.out, OUTPUTS, flag="--out")  # a missing --out is made, not the folders above it
    taken = [args.out / name for name in OUTPUTS if (args.out / name).exists()]
    if taken and not args.overwrite:
        parser.error(f"{shown(taken[0])} exists: give --overwrite to replace it, or another --out")
    for fields in ({}, {"cell": "gru"}):
        check_model_size(ModelConfig(hidden_size=args.hidden_size, **fields), torch.device("cpu"))
    summary = measure(args)
    args.out.mkdir(exist_ok=True)
    figure = figures.forget_bias_sweep(summary["results"], args.out / OUTPUTS[0])
    numbers = args.out / OUTPUTS[1]
    write_json(numbers, summary)
    print(table(summary))
    print(f"wrote {figure} and {numbers}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "scripts/forget_bias_sweep.py"))
