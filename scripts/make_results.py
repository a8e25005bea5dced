"""Train every preset with several seeds and write the README's results table.

    python scripts/make_results.py --data-dir DIR                  # everything: about 30 min on 2 CPU cores
    python scripts/make_results.py --data-dir DIR --presets seed-rows-100k --seeds 0 --rerun   # one run, 30 s
    python scripts/make_results.py --table-only                    # rebuild the table from results/*.json

Each run is ``train.py --preset NAME --seed K``; its summary (test accuracy on all 10,000 test
images, on the first 128 too, validation accuracy, training time, device, configuration) is
written to ``results/NAME-seedK.json`` and kept: a run whose summary exists is not repeated
(``--rerun`` forces it; a clone holds every run's summary). The table in README.md (``--readme``),
between the ``results:start`` and ``results:end`` markers, is then rebuilt from all the summaries
in results/. ``--results DIR`` keeps them elsewhere; the table is then made of DIR's alone, and
printed, not written into this repository's README.md (give ``--readme FILE`` to write it there).
"""

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lstm_mnist  # noqa: E402,F401  before PyTorch: Ctrl-C while it loads is one line (lstm_mnist/startup.py)
import torch  # noqa: E402

from lstm_mnist import checkpoint as ckpt  # noqa: E402
from lstm_mnist import cli  # noqa: E402
from lstm_mnist.data import Split, default_data_dir, load_mnist  # noqa: E402
from lstm_mnist.evaluation import evaluate  # noqa: E402
from lstm_mnist.errors import LSTMMnistError  # noqa: E402
from lstm_mnist.files import create_it_first, replace_marked_section, shown, write_json  # noqa: E402
from lstm_mnist.presets import PRESETS, SEED_FILES  # noqa: E402
from lstm_mnist.words import counted  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"
RESULTS, README = ROOT / "results", ROOT / "README.md"  # the repository's own summaries and table

# What the original TensorFlow programs reached (the project's seed notes: TF 2.21 compat.v1, real
# BasicLSTMCell and static_rnn, 2 CPU cores): reference numbers, not measured by this script.
TENSORFLOW = {
    "seed-rows-3-epochs": "97.31% ± 0.34 (96.75–97.58), 11.1 s/epoch",
    "seed-rows-100k": "96.48% ± 0.31 (96.05–96.71); first 128: 96.1–100%",
    "seed-projection-100k": "94.65% (93.85–95.36)",
    "seed-projection-bias-100k": "95.92% (95.44–96.45)",
    "best": "",
}


def describe(preset: dict) -> str:
    """A preset's configuration in a few words."""
    parts = ["28→128 projection" if preset["input_projection"] else "raw rows"]
    if preset.get("normalize"):
        parts.append("standardised pixels")
    parts.append(f"{preset['epochs']} epochs" if preset.get("epochs") else
                 f"{preset['train_samples']:,} samples (781 steps)")
    schedule = "cosine" if preset["lr_schedule"] == "cosine" else "constant"
    parts.append(f"Adam {preset['lr']:g} {schedule}")
    if preset.get("clip_grad_norm"):
        parts.append(f"clip {preset['clip_grad_norm']:g}")
    if preset.get("augment"):
        parts.append("random affine")
    layers = "projection and head" if preset["input_projection"] else "head"
    parts.append({"normal": f"{layers} N(0,1)", "normal-bias0.1": f"{layers}: weights N(0,1), biases 0.1",
                  "pytorch": "PyTorch init"}[preset["init"]])
    return ", ".join(parts)


def finished(out: Path, name: str, seed: int) -> bool:
    """Whether ``out`` holds a completed run of this preset and seed."""
    if not out.exists():
        return False
    checkpoint = ckpt.load(out)
    config, metrics = checkpoint.get("train_config") or {}, checkpoint.get("metrics") or []
    return (bool(metrics) and metrics[-1].get("event") == "test" and config.get("preset") == name
            and config.get("seed") == seed)


def run(name: str, seed: int, device: str, data_dir: Path, test: Split, results: Path) -> dict:
    """Train one preset with one seed, its checkpoint and log in ``results``/runs; return its
    summary (``test``: the test split, for the accuracy on its first 128 images)."""
    runs = results / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    out = runs / f"{name}-seed{seed}.pt"
    log = runs / f"{name}-seed{seed}.log"
    command = [sys.executable, str(ROOT / "train.py"), "--preset", name, "--seed", str(seed), "--device", device,
               "--data-dir", str(data_dir), "--out", str(out), "--overwrite"]
    if finished(out, name, seed):
        print(f"{out.name}: finished earlier, summarising it")
    else:
        print(f"$ {' '.join(command[1:])}", flush=True)
        with open(log, "w") as f:
            status = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT).returncode
        if status != 0:
            raise LSTMMnistError(f"run {name} seed {seed} failed; see {log}")
    model, checkpoint = ckpt.load_model(out)
    metrics = checkpoint["metrics"]
    epochs, tested = [m for m in metrics if m["event"] == "epoch"], metrics[-1]
    first_128 = evaluate(model, test.head(128))["accuracy"]
    if device.startswith("cuda"):
        device_name = f"{device} ({torch.cuda.get_device_name()})"
    else:
        device_name = f"cpu ({counted(torch.get_num_threads(), 'thread')})"
    return {
        "preset": name,
        "seed": seed,
        "test_accuracy": tested["accuracy"],
        "test_accuracy_first_128": first_128,
        "val_accuracy": epochs[-1]["val_accuracy"],
        "train_seconds": sum(m["seconds"] for m in epochs),
        "epochs": len(epochs),
        "device": device_name,
        "model_config": checkpoint["model_config"],
        "train_config": checkpoint["train_config"],
        "versions": checkpoint["versions"],
    }


def percent(values: list[float]) -> str:
    """Median and range over seeds, in percent."""
    median = 100 * statistics.median(values)
    if len(values) == 1:
        return f"{median:.2f}%"
    return f"{median:.2f}% ({100 * min(values):.2f}–{100 * max(values):.2f})"


def table(summaries: list[dict]) -> str:
    lines = [
        "| preset | reproduces seed | configuration | test accuracy, all 10,000: median (range) | "
        "validation accuracy | training time | seeds | device | TensorFlow original |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in PRESETS:
        runs = sorted((s for s in summaries if s["preset"] == name), key=lambda s: s["seed"])
        if not runs:
            continue
        test = percent([r["test_accuracy"] for r in runs])
        if name == "seed-rows-100k":
            test += f"; first 128 only: {percent([r['test_accuracy_first_128'] for r in runs])}"
        seconds = statistics.median(r["train_seconds"] for r in runs)
        devices = sorted({r["device"] for r in runs})
        lines.append(
            f"| `{name}` | {SEED_FILES[name]} | {describe(PRESETS[name])} | {test} | "
            f"{percent([r['val_accuracy'] for r in runs])} | {seconds:.0f} s | "
            f"{', '.join(str(r['seed']) for r in runs)} | {', '.join(devices)} | {TENSORFLOW[name]} |"
        )
    return "\n".join(lines)


# What the table reads from each summary: field -> (JSON type, lowest value, highest value).
SUMMARY_FIELDS = {
    "preset": ("string", None, None),
    "seed": ("whole number", 0, None),
    "test_accuracy": ("number", 0, 1),
    "test_accuracy_first_128": ("number", 0, 1),
    "val_accuracy": ("number", 0, 1),
    "train_seconds": ("number", 0, None),
    "device": ("string", None, None),
}
JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", type(None): "null",
              int: "a number", float: "a number"}


def read_summary(path: Path) -> dict:
    """A run's summary as ``main`` wrote it. ``LSTMMnistError``, one line naming the file and the
    field, for a file that is not JSON, lacks a field the table reads or holds one of another type."""
    def refused(why: str) -> LSTMMnistError:
        return LSTMMnistError(f"{shown(path)}: not a run summary ({why}); delete it, or train that run again "
                              f"with --rerun")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise refused(str(e)) from None
    if not isinstance(summary, dict):
        raise refused(f"it is {JSON_TYPES[type(summary)]}, not an object")
    for field, (kind, lowest, highest) in SUMMARY_FIELDS.items():
        if field not in summary:
            raise refused(f"field {field!r} is missing")
        if not fits(summary[field], kind, lowest, highest):
            raise refused(f"field {field!r} is {json.dumps(summary[field])[:40]}; expected a {kind}"
                          + (f" from {lowest} to {highest}" if highest is not None else
                             f", at least {lowest}" if lowest is not None else ""))
    return summary


def fits(value, kind: str, lowest: float | None, highest: float | None) -> bool:
    """Whether a JSON ``value`` is of ``kind`` ("string", "number", "whole number") and in range."""
    if kind == "string":
        return isinstance(value, str)
    numeric = int if kind == "whole number" else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric):
        return False
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN and Infinity
        return False
    return (lowest is None or value >= lowest) and (highest is None or value <= highest)


def main() -> int:
    parser = cli.ArgumentParser(prog="scripts/make_results.py", description=cli.docstring(__doc__, __file__),
                                formatter_class=cli.HelpFormatter)
    parser.add_argument("--presets", nargs="+", action=cli.Distinct, choices=list(PRESETS), default=list(PRESETS),
                        metavar="NAME",
                        help=f"presets to run (default: all: {', '.join(PRESETS)})")
    parser.add_argument("--seeds", nargs="+", action=cli.Distinct, type=cli.seed, default=[0, 1, 2],
                        help="seeds to run (default: 0 1 2)")
    parser.add_argument("--device", type=cli.device_name, default="cpu",
                        help="device for the runs: auto, cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--data-dir", type=cli.nonempty_path, default=default_data_dir(),
                        help="folder with the MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--rerun", action="store_true", help="train again even where a summary exists")
    parser.add_argument("--table-only", action="store_true", help="train nothing: rebuild the table from the --results folder's summaries")
    parser.add_argument("--readme", type=cli.nonempty_path, default=None, metavar="FILE",
                        help="where the table goes (default: this repository's README.md, with the default "
                             "--results; with another, none: the table is printed only)")
    parser.add_argument("--results", type=cli.nonempty_path, default=RESULTS, metavar="DIR",
                        help="where the summaries (and, in runs/, the checkpoints and logs) are kept "
                             "(default: results/ of this repository)")
    args = parser.parse_args()
    if not args.results.is_dir():
        parser.error(f"--results {shown(args.results)}: folder does not exist"
                     f"{create_it_first(args.results, args.results)}")
    # the repository's table is made from the repository's summaries only
    readme = args.readme if args.readme is not None else README if args.results.resolve() == RESULTS else None
    if readme is not None:
        cli.check_rewritable(readme, START, END, flag="--readme" if args.readme is not None else "README")  # before
        # any training (the runs take half an hour); without --readme, the repository's README is the one rewritten

    if not args.table_only:
        if args.data_dir is None:
            parser.error("--data-dir (or MNIST_DIR) is needed to train")
        device, _ = cli.device_from_flag(parser, args.device)
        written = [f"{name}-seed{seed}.json" for name in args.presets for seed in args.seeds]
        cli.check_output_folder(args.results, [name for name in written
                                               if args.rerun or not (args.results / name).exists()], "--results")
        test = load_mnist(args.data_dir).test  # the data checked before the first run
        for name in args.presets:
            for seed in args.seeds:
                path = args.results / f"{name}-seed{seed}.json"
                if path.exists() and not args.rerun:
                    print(f"{path.name}: kept (--rerun to train again)")
                    continue
                summary = run(name, seed, str(device), args.data_dir, test, args.results)
                write_json(path, summary)
                print(f"{path.name}: test {100 * summary['test_accuracy']:.2f}%, "
                      f"{summary['train_seconds']:.0f} s", flush=True)

    summaries = [read_summary(p) for p in sorted(args.results.glob("*-seed*.json"))]
    if not summaries:
        raise LSTMMnistError(f"{shown(args.results)}: no run summaries in it (NAME-seedK.json); train some first "
                             "(leave out --table-only)")
    text = table(summaries)
    if readme is not None:
        replace_marked_section(readme, START, END, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, "scripts/make_results.py"))
