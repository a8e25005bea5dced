"""A static web page where a learner draws a digit and steps through the cell reading it, row by row.

    python -m lstm_mnist.web checkpoint.pt --out site/                    # then open site/index.html
    python -m lstm_mnist.web checkpoint.pt --out site/ --compare rnn.pt   # and the RNN or GRU beside it
    python -m lstm_mnist.web docs/model/lstm-mnist.pt --digits docs/digits  # right after cloning, no MNIST needed

The site needs no install, no server and no network: index.html, style.css and the JavaScript
copied from lstm_mnist/web_assets/, plus weights.js, written here: the model's config and
weights (and the compared model's) as JSON, the cells' numbered equations as they are written in
cell.py, rnn_cell.py and gru_cell.py, and digits to pick: the first MNIST test digits, and your own
images (``--digits``, brought to MNIST's form as predict.py reads them). The JSON is assigned to
a global in a .js file because a page opened from file:// may not fetch() a file beside it; the
site opens from file:// and from ``python -m http.server -d site``.

The JavaScript is a transcription of the Python, file by file: cell.js is cell.py (same names,
same equation numbers), rnn_cell.js and gru_cell.js the other two cells, model.js is model.py's
``rows`` and ``read`` and trace.py's ``trace``, images.js is images.py's ``to_mnist_form`` (PIL's
LANCZOS resampling included). tests/test_web.py checks in a headless Chromium that the page
computes the numbers of ``lstm_mnist.trace.trace`` within 1e-5.
"""

import argparse
import dataclasses
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from . import cell, checkpoint as ckpt, gru_cell, rnn_cell
from .cli import (ArgumentParser, Distinct, HelpFormatter, check_name_length, check_reachable, docstring, installed,
                  nonempty_path, run, warn_if_unfinished, whole_number)
from .data import DOWNLOAD_ROOT, TEST_FILES, default_data_dir, find_files, has_files, read_images, read_labels
from .errors import UsageError
from .evaluation import class_labels
from .files import (check_umask, create_it_first, current_umask, exclusive, is_temporary_of, kind, path_word,
                    real_path, shown, unreplaceable)
from .images import image_files, load_image
from .model import PIXEL_MEAN, PIXEL_STD, RecurrentClassifier
from .words import counted

ASSETS = "web_assets"  # the package folder holding index.html, style.css and the .js files
DATA_FILE = "weights.js"  # written here: window.LSTM_MNIST = {...}
CELL_SOURCES = {"lstm": cell, "rnn": rnn_cell, "gru": gru_cell}


def program_name() -> str:
    return "lstm-mnist-web" if installed() else "python -m lstm_mnist.web"


MAX_SAMPLES = 1000  # --samples: each digit adds about 3 KB to the page's data
SAMPLES = 12  # --samples' default


def sample_count(text: str) -> int:
    return whole_number(text, minimum=0, maximum=MAX_SAMPLES)


def build_parser() -> ArgumentParser:
    description = docstring(__doc__, __file__).split("\n\nThe JavaScript")[0]  # the usage, not how it is made
    parser = ArgumentParser(prog=program_name(), formatter_class=HelpFormatter,
                            description=description.replace("python -m lstm_mnist.web", program_name()))
    parser.add_argument("checkpoint", type=nonempty_path, help="checkpoint written by train.py (an LSTM, RNN or GRU)")
    parser.add_argument("--out", type=nonempty_path, default=Path("site"), metavar="DIR",
                        help="the folder to write the site into; it must not exist or be empty, unless "
                             "--overwrite (default: site)")
    parser.add_argument("--compare", type=nonempty_path, default=None, metavar="CHECKPOINT",
                        help="a second checkpoint (e.g. train.py --cell rnn or --cell gru) that the page can "
                             "show reading the same digit (default: none)")
    parser.add_argument("--samples", type=sample_count, default=None, metavar="N",
                        help=f"how many MNIST test digits to offer on the page, the first N of the test set, "
                             f"at most {MAX_SAMPLES} (default: {SAMPLES}; none if the MNIST files are not found)")
    parser.add_argument("--data-dir", type=nonempty_path, default=default_data_dir(), metavar="DIR",
                        help="folder with the MNIST IDX files, for the sample digits; default: $MNIST_DIR, "
                             "else ./data if it has them (nothing is downloaded)")
    parser.add_argument("--digits", type=nonempty_path, nargs="+", action=Distinct, default=[], metavar="PATH",
                        help="your own images to offer as well, or folders of them, read as predict.py reads "
                             "them (a clone's docs/digits holds ten MNIST test digits: no MNIST files needed)")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty --out folder")
    return parser


def float32_list(tensor) -> list[float]:
    """The values as the shortest decimals that give back the same float32 (the page rounds
    them with Math.fround): about half the size of full double-precision decimals."""
    return [float(str(value)) for value in tensor.detach().cpu().numpy().astype(np.float32).ravel()]


def equations(cell_name: str) -> list[dict]:
    """The numbered equations of a cell's file: for each number, the line of its docstring
    (the maths) and the line of code tagged ``# (n)``, exactly as they are written there."""
    source = inspect.getsource(CELL_SOURCES[cell_name])
    maths = dict(re.findall(r"^ {4}\((\d)\) (.+?)\s*$", source.split('"""')[1], flags=re.M))
    code = dict((number, line.strip()) for line, number in re.findall(r"^ +(.+?)  # \((\d)\)", source, flags=re.M))
    rows = []
    for n in sorted(maths, key=int):  # "i_t   = sigma(i_pre)      input gate: ..." -> formula, note
        formula, note = (re.fullmatch(r"(.*\S)\s{2,}(\S.*)", maths[n]) or re.fullmatch(r"(.*)()", maths[n])).groups()
        rows.append({"number": int(n), "maths": " ".join(formula.split()), "note": note, "code": code[n]})
    return rows


def model_data(model: RecurrentClassifier, checkpoint: dict, path: Path) -> dict:
    """What the page needs to rebuild ``model``: its config, its weights and its equations."""
    names = ckpt.class_names(checkpoint)  # train.py --class-names (kept in the train config before version 0.3)
    return {
        "source": path.name,
        "config": dataclasses.asdict(model.config),
        "pixel_mean": PIXEL_MEAN,
        "pixel_std": PIXEL_STD,
        "class_labels": class_labels(names, model.config.num_classes),
        "test_accuracy": test_accuracy(checkpoint),
        "equations": equations(model.config.cell),
        "weights": {name: {"shape": list(tensor.shape), "data": float32_list(tensor)}
                    for name, tensor in model.state_dict().items()},
    }


def test_accuracy(checkpoint: dict) -> float | None:
    """The test accuracy the checkpoint's training run measured, if it did."""
    tests = [m for m in checkpoint.get("metrics") or [] if isinstance(m, dict) and m.get("event") == "test"]
    return tests[-1].get("accuracy") if tests else None


def sample_digits(data_dir: Path | None, count: int) -> list[dict]:
    """The first ``count`` MNIST test digits as grey levels 0..255, row by row; none if the
    files are not in ``data_dir`` (or, without it, in ./data)."""
    if count == 0:
        return []
    if data_dir is None:
        if not has_files(DOWNLOAD_ROOT, TEST_FILES):
            return []
        data_dir = DOWNLOAD_ROOT
    paths = find_files(data_dir, TEST_FILES)  # DataError (one line) if --data-dir lacks them
    images, labels = read_images(paths["test_images"])[:count], read_labels(paths["test_labels"])[:count]
    return [{"index": k, "label": int(label), "pixels": image.ravel().tolist()}  # image: (28, 28) uint8
            for k, (image, label) in enumerate(zip(images, labels))]


def image_digits(paths: list[Path], room: int) -> list[dict]:
    """The images at ``paths`` (files, or folders of them) in MNIST's form, as ``images.py`` reads them
    for predict.py: grey levels 0..255, row by row, named by their file. A file that cannot be read
    as a digit is an error (one line): the page is made on purpose, not a batch to get through."""
    files = [file for path in paths for file in image_files(path)]
    if len(files) > room:
        raise UsageError(f"--digits: {counted(len(files), 'image')}; the page holds at most {MAX_SAMPLES} digits "
                         f"in all ({MAX_SAMPLES - room} from --samples)")
    return [{"name": shown(file.name), "pixels": [grey_level(v) for v in load_image(file).ravel().tolist()]}
            for file in files]  # load_image: (28, 28) in [0, 1]


def grey_level(value: float) -> float | int:
    """A pixel in [0, 1] as a grey level 0..255 for the page: whole where an 8-bit image gave it (``7``,
    not ``7.0000001``), else to 4 decimals (a resized image's levels fall between)."""
    level = round(255 * value, 4)
    return int(level) if level.is_integer() else level


def site_data(main: dict, compare: dict | None, samples: list[dict]) -> str:
    """weights.js: the JSON behind one global, so that the page can read it from file://."""
    data = {"main": main, "compare": compare, "samples": samples}
    return ("// Written by lstm_mnist/web.py: the model, the compared one if any, and sample digits, as JSON.\n"
            f"window.LSTM_MNIST = {json.dumps(data, separators=(',', ':'))};\n")


def write_site(out: Path, data_js: str, overwrite: bool) -> None:
    """Build the site in a temporary folder beside ``out``, then rename it into place: a reader
    (or a killed run) sees the old site or the new one, never half of one."""
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    old = None
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a site is not
        with resources.as_file(resources.files(__package__) / ASSETS) as assets:
            for asset in sorted(Path(assets).iterdir()):
                if asset.is_file() and not asset.name.startswith("."):
                    shutil.copyfile(asset, tmp / asset.name)
        (tmp / DATA_FILE).write_text(data_js, encoding="utf-8")
        if out.exists():
            if not overwrite and any(out.iterdir()):  # filled since we checked
                raise FileExistsError(f"{shown(out)} is not empty; pass --overwrite to replace it")
            old = out.with_name(f"{aside_prefix(out)}{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def aside_prefix(out: Path) -> str:
    """The name, less the process id, under which write_site moves the old site aside: ``.NAME.old-``."""
    return f".{out.name}.old-"


def recover_site(out: Path) -> list[str]:
    """Undo what a build killed mid-way left beside ``out`` (called under ``exclusive(out)``: no build
    runs): its half-built folder ``.NAME.XXXXXXXX.tmp`` is removed, and the old site it had moved
    aside, ``.NAME.old-PID``, is put back if ``out`` is missing (killed between write_site's two
    renames), else removed. Returns what it did, a line each."""
    done = []
    for entry in sorted(out.parent.iterdir()) if out.parent.is_dir() else []:
        if not entry.is_dir() or entry.is_symlink():
            continue
        if is_temporary_of(entry.name, out.name):
            shutil.rmtree(entry, ignore_errors=True)
            done.append(f"removed {shown(entry)}, left by a build that was killed")
        elif entry.name.startswith(aside_prefix(out)) and entry.name[len(aside_prefix(out)):].isdigit():
            if out.exists():
                shutil.rmtree(entry, ignore_errors=True)
                done.append(f"removed {shown(entry)}, left by a build that was killed")
            else:
                os.replace(entry, out)
                done.append(f"put {shown(entry)} back as {shown(out)}: a build killed while replacing it had moved "
                            "it aside")
    return done


def site_names() -> set[str]:
    """The names of the files a site is made of (the page's files and the data file)."""
    assets = resources.files(__package__) / ASSETS
    page = {entry.name for entry in assets.iterdir() if entry.is_file() and not entry.name.startswith(".")}
    return page | {DATA_FILE}


def site_folder(out: Path) -> Path:
    """The folder that ``--out`` names, as ``write_site`` replaces it (by renames beside it, under its name):
    through a symbolic link, the folder it points to (renaming the link replaced it with a folder and left
    it aside as ``.NAME.old-PID``, the folder it points to untouched), and a name ending in ``..`` (or ``.``)
    made a real one ('a/..' has no name to build beside: a ValueError traceback)."""
    return real_path(out) if os.path.islink(out) or out.name in ("", ".", "..") else out


def check_out(parser: argparse.ArgumentParser, out: Path, overwrite: bool) -> None:
    """A usage error (exit 2) before any work if the site cannot go to ``out``. --overwrite replaces
    a site this command made, never a folder that holds anything else (a checkpoint, say), nor one
    this user cannot replace; a folder on the way closed to the user is refused like a read-only one."""
    try:
        _check_out(parser, out, overwrite)
    except PermissionError as e:
        parser.error(f"--out {shown(out)}: cannot write in {shown(Path(e.filename or out).parent)} ({e.strerror}); "
                     "choose another --out in a folder you can write")


def _check_out(parser: argparse.ArgumentParser, out: Path, overwrite: bool) -> None:
    check_umask()
    check_name_length(out, "--out")  # it is built as .NAME.XXXXXXXX.tmp beside out, then renamed
    check_reachable(out, "--out")
    if out.exists() and not out.is_dir():
        parser.error(f"--out {shown(out)}: is {'a file' if out.is_file() else kind(out.stat().st_mode)}; give a folder")
    here = real_path(os.curdir)
    if real_path(out) in (here, *here.parents):  # replaced whole, it would leave the shell in a removed folder
        parser.error(f"--out {shown(out)}: is the current folder{'' if real_path(out) == here else ' or holds it'}, "
                     "which the site would replace whole; give a new folder's name, such as --out site")
    ours = site_names()
    others = sorted(entry.name for entry in out.iterdir() if entry.name not in ours) if out.is_dir() else []
    if others:
        parser.error(f"--out {shown(out)}: holds files that are not part of a site made by this command ("
                     f"{', '.join(map(shown, others[:3]))}{', ...' if len(others) > 3 else ''}); "
                     "choose a new or empty folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        parser.error(f"--out {shown(out)}: is not empty; choose another --out, or pass --overwrite")
    why = unreplaceable(out) if out.is_dir() else None
    if why:
        parser.error(f"--out {shown(out)}: {why}; choose another --out")
    parent = out.absolute().parent
    if not parent.is_dir():
        parser.error(f"--out {shown(out)}: folder {shown(parent)} does not exist{create_it_first(out, parent)}")
    if not os.access(parent, os.W_OK | os.X_OK):
        parser.error(f"--out {shown(out)}: cannot write in {shown(parent)} (Permission denied); choose another --out "
                     "in a folder you can write")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = site_folder(args.out)  # the folder replaced (the checks name it); the summary names it as given
    check_out(parser, out, args.overwrite)
    for flag, path in (("checkpoint", args.checkpoint), ("--compare", args.compare)):
        if path is not None and real_path(out) in real_path(path).parents:  # the site replaces out whole
            parser.error(f"{flag} {shown(path)}: is inside --out {shown(out)}, which this command replaces; "
                         "choose another --out")

    model, checkpoint = ckpt.load_model(args.checkpoint)
    main_data = model_data(model, checkpoint, args.checkpoint)
    compare_data = None
    if args.compare is not None:
        other, other_checkpoint = ckpt.load_model(args.compare)
        if (other.config.input_size, other.config.num_classes) != (model.config.input_size, model.config.num_classes):
            parser.error(f"--compare {shown(args.compare)}: reads {other.config.input_size} pixels a row into "
                         f"{other.config.num_classes} classes; {shown(args.checkpoint)} reads "
                         f"{model.config.input_size} into {model.config.num_classes}")
        compare_data = model_data(other, other_checkpoint, args.compare)
    samples = sample_digits(args.data_dir, SAMPLES if args.samples is None else args.samples)
    if args.samples and not samples:  # asked for, and none found: refused, not ignored (the default is quiet)
        parser.error(f"--samples {args.samples}: no MNIST test files found in ./data; pass --data-dir DIR (or set "
                     "MNIST_DIR), or leave --samples out")
    samples += image_digits(args.digits, room=MAX_SAMPLES - len(samples))

    with exclusive(out):  # one build at a time writes --out; what a killed one left is undone first
        for line in recover_site(out):
            print(line)
        write_site(out, site_data(main_data, compare_data, samples), args.overwrite)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {shown(args.out)}/: {len(list(out.iterdir()))} files, {size / 1e6:.1f} MB; model {model.config.cell} "
          f"({counted(model.config.hidden_size, 'unit')}) from {shown(args.checkpoint)}"
          + (f", compared with {other.config.cell} from {shown(args.compare)}" if compare_data else "")
          + f"; {counted(len(samples), 'digit')} to pick"
          + ("" if samples or args.samples == 0 else " (no MNIST files found: pass --data-dir, or --digits FOLDER)"))
    print(f"open {shown(args.out / 'index.html')} in a browser, or serve it: "
          f"python -m http.server -d {path_word(args.out)}")
    warn_if_unfinished(checkpoint, args.checkpoint, program_name(), args.data_dir)  # last: not in the way of an error
    if compare_data:
        warn_if_unfinished(other_checkpoint, args.compare, program_name(), args.data_dir)
    return 0


def command() -> int:
    """The entry point of ``python -m lstm_mnist.web`` and of the ``lstm-mnist-web`` command."""
    return run(main, program_name())


if __name__ == "__main__":
    sys.exit(command())
