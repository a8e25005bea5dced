"""Watch a trained model read one digit, row by row: what each gate does, what the cell
remembers, and what it would answer after each row.

    python inspect_digit.py checkpoint.pt --index 7          # test image 7: text, and trace-test-7.png
    python inspect_digit.py checkpoint.pt --image my_3.png   # your own digit (any size, any background)
    python inspect_digit.py checkpoint.pt --index 7 --row 12 --figure seven.png
    python inspect_digit.py docs/model/lstm-mnist.pt --image docs/digits/test-7.png --animation nine.gif  # in a clone

The text shows one line per row: the row's pixels, the mean of every gate over the units, the
mean size of the cell and hidden states, and the probability of each digit had the model
decided after that row. The figure shows the image with one row marked, a heat map of every
gate and state (rows x units, the units sorted by what they add to the answer), those
probabilities, and the forget gate and memory of the most decisive units; --animation draws the
reading row by row as a GIF. From Python: lstm_mnist.trace.trace.
"""

import os
import sys
from pathlib import Path

from lstm_mnist import checkpoint as ckpt
from lstm_mnist import figures
from lstm_mnist.cli import (LONGEST_NAME, ArgumentParser, HelpFormatter, add_data_dir_flag, add_device_flag,
                            check_output_path, command_line, device_from_flag, docstring, non_negative_int,
                            nonempty_path, output_file, program_name, run, same_file, warn_if_unfinished)
from lstm_mnist.data import IMAGE_SIZE, files_read_from, load_split
from lstm_mnist.errors import LSTMMnistError
from lstm_mnist.evaluation import class_labels
from lstm_mnist.files import name_note, shown, unreachable
from lstm_mnist.images import load_image
from lstm_mnist.trace import format_trace, trace
from lstm_mnist.words import counted


def build_parser() -> ArgumentParser:
    description = docstring(__doc__, __file__).replace("python inspect_digit.py", command_line("inspect_digit.py"))
    parser = ArgumentParser(prog=program_name("inspect_digit.py"), formatter_class=HelpFormatter,
                            description=description)
    parser.add_argument("checkpoint", type=nonempty_path, help="checkpoint written by train.py")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--index", type=non_negative_int, default=None, metavar="N",
                       help="read image N of the --split (default: 0)")
    which.add_argument("--image", type=nonempty_path, default=None, metavar="FILE",
                       help="read this image instead (PNG, JPEG, BMP, GIF, TIFF, WebP: any format Pillow reads, "
                            "whatever its name), as predict.py does: upright as its EXIF orientation says, "
                            "greyscale, inverted if its background is light, scaled to fit 20x20 and centred by its "
                            "centre of mass, as MNIST's digits were")
    parser.add_argument("--split", choices=("test", "val"), default=None,
                        help="where --index looks: the test or the validation images (default: test)")
    parser.add_argument("--row", type=non_negative_int, default=None, metavar="T",
                        help="the row to mark in the figure (default: the row from which the final answer "
                             "stays the most probable)")
    parser.add_argument("--figure", type=output_file, default=None, metavar="FILE",
                        help="where to draw the figure, replacing any file there: .png, .svg, .pdf or .jpg "
                             "(default: trace-test-N.png, trace-val-N.png with --split val, or trace-NAME.png "
                             "for --image NAME.png)")
    parser.add_argument("--no-figure", action="store_true", help="print the text only")
    parser.add_argument("--animation", type=output_file, default=None, metavar="GIF",
                        help="also draw the model reading the digit row by row, as an animated GIF there")
    parser.add_argument("--ascii", action="store_true",
                        help="plain ASCII shades, for terminals that cannot show block characters "
                             "(chosen by itself when the output's encoding cannot)")
    add_data_dir_flag(parser)
    add_device_flag(parser)
    return parser


def can_print_blocks(stream) -> bool:
    try:
        "░▒▓█▁▇".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def default_figure(image: Path | None, split: str, index: int) -> Path:
    """trace-NAME.png for --image NAME.png (the name cut short if the whole would be too long to write:
    a default is never refused), else trace-SPLIT-INDEX.png."""
    if image is None:
        return Path(f"trace-{split}-{index}.png")
    stem = image.stem
    while len(os.fsencode(f"trace-{stem}.png")) > LONGEST_NAME:
        stem = stem[:-1]
    return Path(f"trace-{stem}.png")


def check_output(path: Path, flag: str, args) -> None:
    """An output's path (``--figure``, ``--animation``), checked before any work (a usage error):
    never the checkpoint or image read."""
    inputs = [args.checkpoint] + ([args.image] if args.image is not None else files_read_from(args.data_dir))
    check_output_path(path, may_replace=True, flag=flag, inputs=inputs)  # a UsageError: exit 2, by cli.run
    figures.check_name(path, flag, figures.ANIMATION_FORMATS if flag == "--animation" else figures.FORMATS)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    device, _ = device_from_flag(parser, args.device)
    if args.row is not None and args.row >= IMAGE_SIZE:
        parser.error(f"--row {args.row}: an image has rows 0 to {IMAGE_SIZE - 1}")
    if args.image is not None and args.split is not None:
        parser.error("--split chooses among MNIST's images; it has no meaning with --image")
    if args.no_figure and (args.figure is not None or args.row is not None):
        parser.error(f"{'--figure' if args.figure is not None else '--row'} is for the figure, and --no-figure "
                     "asks for none")
    args.split = args.split or "test"

    index = args.index or 0
    figure = None if args.no_figure else args.figure or default_figure(args.image, args.split, index)
    for flag, path in (("--figure", figure), ("--animation", args.animation)):
        if path is not None:  # checked before any work
            check_output(path, flag, args)
    if figure is not None and args.animation is not None and same_file(figure, args.animation):
        parser.error(f"--animation {shown(args.animation)}: is also the --figure; give them different names")
    if args.image is not None and not os.path.lexists(args.image):  # a missing input: exit 1, as a checkpoint's
        raise LSTMMnistError(unreachable(args.image)
                             or f"image {shown(args.image)} not found{name_note(args.image)}")
    model, checkpoint = ckpt.load_model(args.checkpoint, device)
    names = ckpt.class_names(checkpoint)
    if args.image is not None:
        image, label = load_image(args.image), None
        source = shown(args.image)
    else:
        split = load_split(args.split, args.data_dir, validation_size=ckpt.validation_size(checkpoint))
        if index >= len(split):
            parser.error(f"--index {index}: the {args.split} split has images 0 to {len(split) - 1}")
        image, label = split.images[index], int(split.labels[index])
        source = f"{args.split} image {index}"

    t = trace(model, image.to(device))
    labels = class_labels(names, model.config.num_classes)
    print(f"{source}" + (f", label {labels[label]}" if label is not None else "")
          + f"; model: {model.config.cell}, {counted(model.config.hidden_size, 'unit')}, from {shown(args.checkpoint)}")
    print(format_trace(t, names, unicode=not args.ascii and can_print_blocks(sys.stdout)))
    verdict = "" if label is None else (" - right" if t.prediction == label else f" - wrong, it is {labels[label]}")
    print(f"prediction: {labels[t.prediction]} ({100 * float(t.probabilities[-1, t.prediction]):.1f}%), "
          f"the most probable from row {t.decided_at()} on{verdict}")
    if figure is not None:
        figures.trace_figure(t, figure, row=args.row, class_names=names,
                             title=f"{source}" + (f" (label {labels[label]}):" if label is not None else ":"))
        print(f"wrote {shown(figure)}")
    if args.animation is not None:
        figures.trace_animation(t, args.animation, class_names=names)
        print(f"wrote {shown(args.animation)}")
    warn_if_unfinished(checkpoint, args.checkpoint, program_name("inspect_digit.py"), args.data_dir)  # last
    return 0


def command() -> int:
    """The entry point of ``python inspect_digit.py`` and of the ``lstm-mnist-inspect`` command."""
    return run(main, program_name("inspect_digit.py"))


if __name__ == "__main__":
    sys.exit(command())
