"""Evaluate a checkpoint on the MNIST test (or validation) images.

    python evaluate.py checkpoint.pt             # accuracy, per-class accuracy, confusion matrix
    python evaluate.py checkpoint.pt --json      # the same as one JSON object
    python evaluate.py checkpoint.pt --plots figures/   # also draw the confusion matrix and the mistakes
"""

import json
import sys
from pathlib import Path

from lstm_mnist import checkpoint as ckpt
from lstm_mnist import figures
from lstm_mnist.cli import (ArgumentParser, HelpFormatter, add_data_dir_flag, add_device_flag, batch_size,
                            check_output_folder, class_names, command_line, device_from_flag, docstring,
                            nonempty_path, program_name, run, unfinished_run, whole_number)
from lstm_mnist.data import files_read_from, load_split
from lstm_mnist.files import shown
from lstm_mnist.evaluation import format_report, logits_of, metrics_of

MAX_PLOTTED = 1000  # --max-images
PLOTTED = 100  # --max-images' default


def plotted_count(text: str) -> int:
    return whole_number(text, minimum=1, maximum=MAX_PLOTTED)


def build_parser() -> ArgumentParser:
    description = docstring(__doc__, __file__).replace("python evaluate.py", command_line("evaluate.py"))
    parser = ArgumentParser(prog=program_name("evaluate.py"), formatter_class=HelpFormatter, description=description)
    parser.add_argument("checkpoint", type=nonempty_path, help="checkpoint written by train.py")
    parser.add_argument("--split", choices=("test", "val"), default="test",
                        help="the 10,000 test images, or the 5,000 validation images (default: test)")
    add_data_dir_flag(parser)
    add_device_flag(parser)
    parser.add_argument("--batch-size", type=batch_size, default=1000, metavar="N",
                        help="images per forward pass (default: 1000)")
    parser.add_argument("--class-names", type=class_names, default=None, metavar="NAMES",
                        help="what labels 0..9 mean, comma-separated (default: the names stored by train.py "
                             "--class-names, else the digits)")
    parser.add_argument("--plots", type=nonempty_path, default=None, metavar="DIR",
                        help="also draw DIR/confusion_matrix.png and DIR/misclassified.png (the most confident "
                             "mistakes, with their true and predicted labels), replacing any there; DIR is created "
                             "if its parent folder exists")
    parser.add_argument("--max-images", type=plotted_count, default=None, metavar="N",
                        help=f"with --plots: at most this many images in misclassified.png, {MAX_PLOTTED} at most: "
                             f"a figure of more would take minutes to draw and be unreadable (default: {PLOTTED})")
    parser.add_argument("--readable", action="store_true",
                        help="read the images through the readable loop, LSTMCell.forward row by row, so that a "
                             "breakpoint in the cell stops (the same answers within float rounding; slower). "
                             "Default: bptt.py's loop, which calls the cell's equations but not its forward")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (accuracy as a fraction, per_class, confusion_matrix, n; "
                             "unfinished: where the run stopped if before its end, else null)")
    return parser


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    device, device_line = device_from_flag(parser, args.device)
    if args.max_images is not None and args.plots is None:  # a flag that would do nothing is refused, not ignored
        parser.error("--max-images is for the mistakes drawn with --plots DIR: add --plots, or leave it out")
    if args.plots is not None:  # before any work; a UsageError is reported as exit 2 by cli.run
        check_output_folder(args.plots, PLOTS, "--plots", inputs=[args.checkpoint, *files_read_from(args.data_dir)])
    model, checkpoint = ckpt.load_model(args.checkpoint, device)
    model.fast = not args.readable  # train.py's --readable too: the switch is the model's (model.py)
    split = load_split(args.split, args.data_dir, validation_size=ckpt.validation_size(checkpoint)).to(device)
    logits = logits_of(model, split.images, args.batch_size)  # (N, K)
    metrics = metrics_of(logits, split.labels)
    names = args.class_names or ckpt.class_names(checkpoint)
    if args.json:  # "unfinished": where the run stopped, if before its test evaluation, else null
        print(json.dumps({"checkpoint": shown(args.checkpoint), "split": args.split,
                          "class_names": list(names) if names else None,
                          "unfinished": ckpt.unfinished(checkpoint), **metrics}))
    else:
        print(device_line)
        print(f"model: {model.config}")
        unfinished = unfinished_run(checkpoint, args.checkpoint, args.data_dir)
        if unfinished:
            print(f"checkpoint: {unfinished}")
        print(format_report(metrics, title=args.split, class_names=names))
    if args.plots is not None:
        drawn = draw_plots(split, logits, metrics, args.plots, names, args.max_images or PLOTTED, args.split)
        print(f"wrote {', '.join(map(shown, drawn))}", file=sys.stderr if args.json else sys.stdout)
    return 0


PLOTS = ("confusion_matrix.png", "misclassified.png")


def draw_plots(split, logits, metrics: dict, folder: Path, names, max_images: int, title: str) -> list[Path]:
    """The confusion matrix, and the misclassified images, most confident mistakes first. A folder made
    here is removed again if it is still empty when the drawing fails or is interrupted (Ctrl-C)."""
    made = not folder.exists()
    folder.mkdir(exist_ok=True)  # its parent was checked before any work
    try:
        return _draw_plots(split, logits, metrics, folder, names, max_images, title)
    except BaseException:
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _draw_plots(split, logits, metrics: dict, folder: Path, names, max_images: int, title: str) -> list[Path]:
    drawn = [figures.confusion_matrix(metrics["confusion_matrix"], folder / "confusion_matrix.png", names,
                                      title=title)]
    probabilities = logits.softmax(dim=1).cpu()  # (N, K)
    confidence, predicted = probabilities.max(dim=1)  # (N,), (N,)
    labels = split.labels.cpu()
    wrong = (predicted != labels).nonzero().squeeze(1)  # indices of the mistakes
    if len(wrong):
        wrong = wrong[confidence[wrong].argsort(descending=True)][:max_images]
        drawn.append(figures.misclassified(split.images[wrong.to(split.images.device)].cpu().numpy(),
                                           labels[wrong].numpy(), predicted[wrong].numpy(),
                                           confidence[wrong].numpy(), folder / "misclassified.png",
                                           logits.size(1), names,
                                           total=int((predicted != labels).sum()), indices=wrong.numpy(),
                                           split=title))
    else:  # not one mistake: no grid, and none left from an earlier run
        (folder / "misclassified.png").unlink(missing_ok=True)
    return drawn


def command() -> int:
    """The entry point of ``python evaluate.py`` and of the ``lstm-mnist-evaluate`` command."""
    return run(main, program_name("evaluate.py"))


if __name__ == "__main__":
    sys.exit(command())
