"""The README's performance table, regenerated from the benchmark's JSON (never typed by hand).

    python -m lstm_mnist.bench --device cpu --json results/bench-cpu.json --overwrite
    python scripts/bench_table.py results/bench-cpu.json                      # print the table
    python scripts/bench_table.py results/bench-cpu.json --readme README.md   # and put it in the README

The table goes between the ``bench:start`` and ``bench:end`` markers of the README; it holds every
device's table from the JSON and, when the JSON has them, the whole-run times of ``train.py``.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lstm_mnist.bench import format_table  # noqa: E402
from lstm_mnist.cli import (ArgumentParser, HelpFormatter, check_rewritable, docstring, nonempty_path,  # noqa: E402
                            run)
from lstm_mnist.errors import LSTMMnistError  # noqa: E402
from lstm_mnist.files import open_regular, replace_marked_section, shown  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
NOT_THE_BENCHMARKS = "is not what python -m lstm_mnist.bench --json writes"


def read_results(path: Path) -> list[dict]:
    """The benchmark's JSON: a list of entries, each a device's table ("rows") or a whole run
    ("time_to_accuracy"). ``LSTMMnistError`` for anything else."""
    with open_regular(path, what="JSON file") as f:
        data = f.read()
    try:
        results = json.loads(data)
    except ValueError as e:  # invalid JSON or not UTF-8
        raise LSTMMnistError(f"{shown(path)} {NOT_THE_BENCHMARKS}: it is not JSON ({e})") from None
    if not isinstance(results, list) or not results:
        raise LSTMMnistError(f"{shown(path)} {NOT_THE_BENCHMARKS} (a non-empty list of results)")
    for k, result in enumerate(results):
        if not isinstance(result, dict) or not ("rows" in result or "time_to_accuracy" in result):
            raise LSTMMnistError(f"{shown(path)} {NOT_THE_BENCHMARKS}: entry {k} has neither \"rows\" "
                                 "nor \"time_to_accuracy\"")
    return results


def tables(results: list[dict]) -> str:
    """Markdown for every entry of the benchmark's JSON: the tables, then the whole runs."""
    parts = [format_table(result) for result in results if "rows" in result]
    for run_ in (result["time_to_accuracy"] for result in results if "time_to_accuracy" in result):
        flags = " ".join(["--device", run_["device"], *run_["flags"]])
        parts.append(f"`python train.py {flags}`: {run_['seconds']:.1f} s from process start to exit, "
                     f"test accuracy {100 * run_['test_accuracy']:.2f}%")
    return "\n\n".join(parts)


def main() -> int:
    parser = ArgumentParser(prog="scripts/bench_table.py", description=docstring(__doc__, __file__),
                            formatter_class=HelpFormatter)
    parser.add_argument("json", type=nonempty_path, help="what python -m lstm_mnist.bench --json wrote")
    parser.add_argument("--readme", type=nonempty_path, help="also replace the table in this README")
    args = parser.parse_args()
    results = read_results(args.json)
    if args.readme:
        check_rewritable(args.readme, START, END)
    try:
        text = tables(results)
    except (KeyError, TypeError, ValueError) as e:  # a field missing, or of the wrong kind
        raise LSTMMnistError(f"{shown(args.json)} {NOT_THE_BENCHMARKS}: an entry is incomplete or malformed "
                             f"({type(e).__name__}: {e})") from None
    print(text)
    if args.readme:
        replace_marked_section(args.readme, START, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "scripts/bench_table.py"))
