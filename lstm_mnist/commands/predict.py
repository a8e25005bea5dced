"""Classify a folder of images (or one image) with a trained checkpoint and write the predictions as CSV.

    python predict.py checkpoint.pt my_digits/                 # -> predictions.csv
    python predict.py checkpoint.pt my_digits/ --out p.csv --device cuda
    python predict.py checkpoint.pt my_digits/seven.png        # one image

Every image in the folder (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff and .webp files; one image
named by itself may be in any format Pillow reads, whatever its name) is turned upright as its
EXIF orientation says (as viewers show a phone's photo), read as greyscale, inverted if its
background is light (MNIST digits are white on black) and, unless it is 28x28 already, brought
to MNIST's form: the digit scaled to fit 20x20 and centred by its centre of mass in 28x28
(images.py). The CSV has one row per image: file, predicted label, its probability, and the
probability of each of the 10 labels. The images go through the model in batches. A file that
cannot be read as a digit (damaged, blank, not an image; a link to nothing, a FIFO) is skipped
with one line saying why, and counted; the others are classified (exit status 1 if none could be).
"""

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from lstm_mnist import checkpoint as ckpt
from lstm_mnist.cli import (ArgumentParser, HelpFormatter, add_device_flag, batch_size, check_output_path,
                            command_line, device_from_flag, docstring, nonempty_path, output_file, program_name, run,
                            some_of, warn_if_unfinished)
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.evaluation import class_labels, logits_of
from lstm_mnist.files import atomic_write, shown
from lstm_mnist.images import EXTENSIONS, LISTED, image_files, load_image, not_images
from lstm_mnist.reporting import bar_size
from lstm_mnist.words import counted


def build_parser() -> ArgumentParser:
    description = docstring(__doc__, __file__).replace("python predict.py", command_line("predict.py"))
    parser = ArgumentParser(prog=program_name("predict.py"), formatter_class=HelpFormatter, description=description)
    parser.add_argument("checkpoint", type=nonempty_path, help="checkpoint written by train.py")
    parser.add_argument("folder", type=nonempty_path,
                        help=f"folder of images ({LISTED}), or one image in any format Pillow reads")
    parser.add_argument("--out", type=csv_destination, default=Path("predictions.csv"), metavar="PATH",
                        help="the CSV to write, or - for stdout (default: predictions.csv)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    add_device_flag(parser)
    parser.add_argument("--batch-size", type=batch_size, default=1000, metavar="N",
                        help="images per forward pass (default: 1000)")
    parser.add_argument("--readable", action="store_true",
                        help="read the images through the readable loop, LSTMCell.forward row by row, so that a "
                             "breakpoint in the cell stops (the same answers within float rounding; slower). "
                             "Default: bptt.py's loop, which calls the cell's equations but not its forward")
    return parser


STDOUT = "-"  # --out -, exactly (a file named '-' is ./-)


def csv_destination(text: str) -> Path | str:
    """--out: a file to write, or ``STDOUT``; never a name a folder's scan reads as an image (x.png in
    the folder of images would be taken for one, and skipped as unreadable, at the next run)."""
    if text == STDOUT:
        return STDOUT
    path = output_file(text)
    if path.suffix.lower() in EXTENSIONS:
        raise argparse.ArgumentTypeError(f"{shown(path)} is named as an image ({path.suffix}); the predictions are "
                                         "a CSV: give a name ending in .csv")
    return path


def several_paths(folder: Path, extras: list[str]) -> str:
    """The usage error for paths after the first: a shell's glob (``predict.py m.pt digits/*.png``) gives
    every image, where predict.py reads one folder or one image. argparse said 'unrecognized arguments:'
    and listed every name but the first, thousands of them, with no word of what to do."""
    paths = [str(folder), *extras]
    folders = {os.path.dirname(path) or "." for path in paths}
    way_out = (f"give their folder, {shown(folders.pop())}" if len(folders) == 1
               else "put them in one folder and give that")
    return (f"{len(paths):,} images or folders given ({some_of(paths)}); {program_name('predict.py')} reads one "
            f"folder (every image in it) or one image: {way_out}")


def main() -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args()
    if extras and not any(word.startswith("-") for word in extras):
        parser.error(several_paths(args.folder, extras))
    elif extras:
        parser.unrecognized(extras)
    device, _ = device_from_flag(parser, args.device)
    to_stdout = args.out == STDOUT  # the CSV on stdout, for a pipe; the summary then goes to stderr
    if to_stdout and args.overwrite:  # it would do nothing: refused, not ignored
        parser.error("--overwrite replaces an existing --out file, and --out - writes to stdout; leave one out")
    files = image_files(args.folder)
    # before any work; a UsageError (exit 2) also if --out is the checkpoint or one of the images
    if not to_stdout:
        check_output_path(args.out, may_replace=args.overwrite, inputs=[args.checkpoint, *files])
    model, checkpoint = ckpt.load_model(args.checkpoint, device)
    model.fast = not args.readable  # as train.py's and evaluate.py's --readable: the switch is the model's
    names = class_labels(ckpt.class_names(checkpoint), model.config.num_classes)

    images, skipped = [], []
    # reading the files is the long part (a few ms each): a bar on a terminal, for a folder of them
    for path in tqdm(files, desc="reading", unit="image", leave=False, disable=None if len(files) > 1 else True,
                     **bar_size()):
        try:
            images.append(load_image(path))  # (28, 28)
        except LSTMMnistError as e:
            if len(files) == 1:
                raise
            tqdm.write(f"{program_name('predict.py')}: skipped {e}", file=sys.stderr)  # above the bar
            skipped.append(path)
    if not images:
        unread = "could not be read" if len(files) == 1 else f"none of its {len(files)} images could be read"
        raise LSTMMnistError(f"{shown(args.folder)}: {unread} (see above)")
    files = [path for path in files if path not in skipped]
    images = torch.stack(images).to(device)  # (N, 28, 28)
    probabilities = logits_of(model, images, args.batch_size).softmax(dim=1).cpu()  # (N, K), in batches, eval mode

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["file", "prediction", "probability", *(cell(f"p_{name}") for name in names)])
    for path, p in zip(files, probabilities.tolist()):
        best = max(range(len(p)), key=p.__getitem__)
        writer.writerow([cell(shown(path.name)), cell(names[best]), f"{p[best]:.6f}", *(f"{v:.6f}" for v in p)])
    summary = f"{counted(len(files), 'image')} classified" + (f", {len(skipped)} skipped" if skipped else "")
    others = not_images(args.folder) if args.folder.is_dir() else []
    if others:
        summary += (f"; {counted(len(others), 'other file')} not read, not named as an image ({LISTED}): "
                    f"{some_of([path.name for path in others])}")
    if to_stdout:
        sys.stdout.write(text.getvalue())
        print(summary, file=sys.stderr)
    else:
        atomic_write(args.out, lambda f: f.write(text.getvalue().encode("utf-8", "backslashreplace")),
                     replace=args.overwrite)  # a file another run wrote meanwhile stays, without --overwrite
        print(f"{summary}; wrote {shown(args.out)}")
    warn_if_unfinished(checkpoint, args.checkpoint, program_name("predict.py"))  # last: not in the way of an error
    return 0


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)


def cell(text: str) -> str:
    """A text cell for the CSV, neutralised as OWASP's CSV-injection advice says: a leading
    = + - @ tab or carriage return gets a single quote before it, so a spreadsheet shows the
    name instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def command() -> int:
    """The entry point of ``python predict.py`` and of the ``lstm-mnist-predict`` command."""
    return run(main, program_name("predict.py"))


if __name__ == "__main__":
    sys.exit(command())
