"""The README's performance table, regenerated from the benchmark's JSON (never typed by hand).

    python -m lstm_mnist.bench --device cpu --json results/bench-cpu.json
    python scripts/bench_table.py results/bench-cpu.json                      # print the table
    python scripts/bench_table.py results/bench-cpu.json --readme README.md   # and put it in the README

The table goes between the ``bench:start`` and ``bench:end`` markers of the README; it holds every
device's table from the JSON and, when the JSON has them, the whole-run times of ``train.py``.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lstm_mnist.bench import format_table  # noqa: E402
from lstm_mnist.errors import LSTMMnistError  # noqa: E402
from lstm_mnist.files import replace_marked_section  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def tables(results: list[dict]) -> str:
    """Markdown for every entry of the benchmark's JSON: the tables, then the whole runs."""
    parts = [format_table(result) for result in results if "rows" in result]
    for run in (result["time_to_accuracy"] for result in results if "time_to_accuracy" in result):
        flags = " ".join(["--device", run["device"], *run["flags"]])
        parts.append(f"`python train.py {flags}`: {run['seconds']:.1f} s from process start to exit, "
                     f"test accuracy {100 * run['test_accuracy']:.2f}%")
    return "\n\n".join(parts)


def update_readme(text: str, readme: Path) -> None:
    try:
        replace_marked_section(readme, START, END, text)
    except LSTMMnistError as error:
        sys.exit(f"bench_table.py: error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", type=Path, help="what python -m lstm_mnist.bench --json wrote")
    parser.add_argument("--readme", type=Path, help="also replace the table in this README")
    args = parser.parse_args()
    try:
        results = json.loads(args.json.read_text())
    except (OSError, ValueError) as error:
        parser.error(f"cannot read {args.json}: {error}")
    text = tables(results)
    print(text)
    if args.readme:
        update_readme(text, args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
