"""The small trained model shipped with the repository, and the sample digits beside it, so that
inspect_digit.py, the walkthrough and the notebook work right after cloning: no training, no
MNIST download.

    python scripts/make_shipped_checkpoint.py --data-dir DIR     # about 2 minutes on a CPU

trains with ``python train.py`` exactly as documented (its defaults: an LSTM of 128 units,
3 epochs, seed 0; on one CPU thread, so that the sums run in the same order everywhere), then keeps only what a reader needs: the model config, the weights, the
training config and the test result (no optimizer state, no random states), about 330 KB.
Writes ``docs/model/lstm-mnist.pt`` and ``docs/digits/test-N.png`` for each --digits index
(MNIST test images, 28x28, exact: the pixels are bytes); refuses to replace them unless
--overwrite is given. --full PATH keeps the full checkpoint, its metrics and its training
figure (default: a temporary folder, removed).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lstm_mnist  # noqa: E402,F401  before PyTorch: Ctrl-C while it loads is one line (lstm_mnist/startup.py)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lstm_mnist import checkpoint as ckpt  # noqa: E402
from lstm_mnist.cli import (ArgumentParser, Distinct, HelpFormatter, add_data_dir_flag, check_output_folder,  # noqa: E402
                            check_output_path, docstring, non_negative_int, nonempty_path, output_file, run, same_file)
from lstm_mnist.data import load_mnist  # noqa: E402
from lstm_mnist.errors import LSTMMnistError, UsageError  # noqa: E402
from lstm_mnist.files import atomic_write, shown  # noqa: E402

DIGITS = (0, 1, 2, 3, 4, 7, 8, 11, 18, 61)  # the first test image of each digit; 7 (a 9) is the walkthrough's
KEPT = ("format", "version", "model_config", "model", "train_config", "class_names", "versions")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="scripts/make_shipped_checkpoint.py", formatter_class=HelpFormatter,
                            description=docstring(__doc__, __file__))
    parser.add_argument("--out", type=output_file, default=ROOT / "docs" / "model" / "lstm-mnist.pt", metavar="PT",
                        help="the slim checkpoint (default: docs/model/lstm-mnist.pt)")
    parser.add_argument("--digits-out", type=nonempty_path, default=ROOT / "docs" / "digits", metavar="DIR",
                        help="where the sample digits go (default: docs/digits)")
    parser.add_argument("--digits", type=non_negative_int, nargs="+", action=Distinct, default=list(DIGITS),
                        metavar="N",
                        help=f"test images to write as PNG (default: {' '.join(map(str, DIGITS))})")
    parser.add_argument("--full", type=output_file, default=None, metavar="PT",
                        help="keep the full checkpoint there, with its metrics and training figure")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    add_data_dir_flag(parser)
    return parser


def slim(full: dict) -> dict:
    """What a reader needs from a checkpoint: config, weights, and the test result."""
    tests = [m for m in full.get("metrics", []) if m.get("event") == "test"]
    return {key: full[key] for key in KEPT if key in full} | {"metrics": tests[-1:]}


def train(data_dir: Path | None, full: Path) -> dict:
    command = [sys.executable, str(ROOT / "train.py"), "--out", str(full), "--overwrite", "--device", "cpu"]
    command += ["--data-dir", str(data_dir)] if data_dir else []
    print(" ".join(command[1:]), flush=True)
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same sums in the same order on any machine
    if subprocess.run(command, cwd=ROOT, env=one_thread).returncode != 0:
        raise LSTMMnistError("train.py failed (its message is above)")
    return ckpt.load(full)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    digits = {index: args.digits_out / f"test-{index}.png" for index in args.digits}
    # every output and every argument is checked before the training, which takes minutes
    check_output_path(args.out, may_replace=True, flag="--out")
    check_output_folder(args.digits_out, [path.name for path in digits.values()], flag="--digits-out")
    if args.full:
        check_output_path(args.full, may_replace=True, flag="--full")
        if same_file(args.full, args.out):
            parser.error(f"--full {shown(args.full)}: is also --out; the slim checkpoint would replace it")
    taken = [path for path in (args.out, *digits.values(), args.full) if path is not None and path.exists()]
    if taken and not args.overwrite:
        parser.error(f"{shown(taken[0])} exists: give --overwrite to replace it")
    test = load_mnist(args.data_dir).test
    too_large = [index for index in args.digits if index >= len(test)]
    if too_large:
        raise UsageError(f"--digits {too_large[0]}: the test set has {len(test):,} images, 0 to {len(test) - 1:,}")
    images = {}
    for index in digits:
        pixels = np.uint8(np.round(255 * test.images[index].cpu().numpy()))  # (28, 28): MNIST's own bytes
        images[index] = Image.fromarray(pixels)

    with tempfile.TemporaryDirectory() as scratch:
        full = args.full or Path(scratch) / "full.pt"
        shipped = slim(train(args.data_dir, full))
    ckpt.save(args.out, shipped)
    accuracy = shipped["metrics"][0]["accuracy"]
    print(f"wrote {shown(args.out)} ({args.out.stat().st_size // 1024} KB), test accuracy {100 * accuracy:.2f}%")
    args.digits_out.mkdir(exist_ok=True)  # its parent exists: checked above
    for index, path in digits.items():
        atomic_write(path, lambda f: images[index].save(f, format="PNG"))
        print(f"wrote {shown(path)}: test image {index}, label {int(test.labels[index])}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "scripts/make_shipped_checkpoint.py"))
