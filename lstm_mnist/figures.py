"""The figures: training curves, confusion matrix, misclassified digits, one digit's trace,
and the gradient that reaches each row.

Each function draws one figure with matplotlib's object-oriented API (no global pyplot state,
no display needed) and writes it atomically, like the checkpoints: a PNG, or the format its
name asks for (``FORMATS``). matplotlib is imported here only, so the rest of the package works
without it.
"""

import io
import logging
from pathlib import Path

import numpy as np

from .files import atomic_write, shown
from .errors import LSTMMnistError, UsageError
from .evaluation import class_labels
from .trace import Trace
from .words import counted

DPI = 100
FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")  # what a figure's name may ask for; no suffix: PNG
ANIMATION_FORMATS = ("gif",)
TRAINING_CURVES_SIZE = (10, 4)  # inches: loss and accuracy side by side


def new_figure(width: float, height: float):
    """A matplotlib Figure of ``width`` x ``height`` inches, or a one-line error without matplotlib.
    A HOME the user cannot write (a shared classroom account, HOME=/) is no reason to print
    anything: matplotlib then keeps its cache in a temporary folder, and says so in warnings that
    are silenced while it loads; a cache it cannot make anywhere is one line, with the way out."""
    logger = logging.getLogger("matplotlib")
    level = logger.level
    logger.setLevel(logging.ERROR)  # 'mkdir -p failed for ...', 'Matplotlib created a temporary cache directory ...'
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise LSTMMnistError("figures need matplotlib: pip install matplotlib") from None
    except OSError as e:  # no writable cache folder at all, not even a temporary one
        raise LSTMMnistError(f"figures need a folder matplotlib can write its cache in ({e}); set MPLCONFIGDIR to one "
                             "of yours, or leave the figures out") from None
    finally:
        logger.setLevel(level)
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def check_name(path: Path, flag: str, formats: tuple[str, ...] = FORMATS) -> None:
    """A ``UsageError`` before any work if the name of a figure (or, with ``ANIMATION_FORMATS``, an
    animation) ends in a suffix of a format it cannot be written in: 'trace.mp4' would otherwise
    hold a GIF, a file every program reading .mp4 refuses."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix and suffix not in formats:
        raise UsageError(f"{flag} {shown(path)}: cannot be written as .{suffix}; name it "
                         f"{' or '.join('.' + f for f in formats)}")


def save(figure, path: Path) -> Path:
    """Write ``figure`` to ``path``, in the format its suffix names (``FORMATS``), else as PNG."""
    suffix = Path(path).suffix.lower().lstrip(".")
    atomic_write(Path(path), lambda f: figure.savefig(f, format=suffix if suffix in FORMATS else "png", dpi=DPI))
    return Path(path)


def inspect_command() -> str:
    """inspect_digit.py, as the figure's reader runs it: 'lstm-mnist-inspect' when installed."""
    from .cli import named  # imported here: cli loads PyTorch's device helpers, figures need none of them

    return named("inspect_digit.py")


def error(accuracy: float) -> float:
    """Accuracy in [0, 1] as an error rate in percent, floored at 0.01 for the log scale."""
    return max(0.01, 100 * (1 - accuracy))


def training_curves(metrics: list[dict], path: Path) -> Path:
    """Loss and accuracy over the epochs: the training figures (running means over each epoch,
    every log interval), the validation figures after each epoch, the test accuracy at the end."""
    logs = [m for m in metrics if m.get("event") == "log"]
    epochs = [m for m in metrics if m.get("event") == "epoch"]
    tests = [m for m in metrics if m.get("event") == "test"]
    if not epochs and not logs:
        raise LSTMMnistError("no metrics to plot yet: not one log interval has finished")
    figure = new_figure(*TRAINING_CURVES_SIZE)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    at, running_loss, running_accuracy = [], [], []  # one line per epoch: each running mean starts afresh
    for k, m in enumerate(logs):
        if k and m["epoch"] != logs[k - 1]["epoch"]:  # NaN: a gap in the line
            at.append(np.nan)
            running_loss.append(np.nan)
            running_accuracy.append(np.nan)
        at.append(m["epoch"] - 1 + m["step"] / m["steps_in_epoch"])  # in epochs, fractional
        running_loss.append(m["running_loss"])
        running_accuracy.append(error(m["running_accuracy"]))
    loss_axes.plot(at, running_loss, ".-", color="tab:blue", alpha=0.5,
                   label="training (running mean within the epoch)")
    accuracy_axes.plot(at, running_accuracy, ".-", color="tab:blue", alpha=0.5,
                       label="training (running mean within the epoch)")
    x = [m["epoch"] for m in epochs]
    loss_axes.plot(x, [m["train_loss"] for m in epochs], "o", color="tab:blue", label="training, whole epoch")
    loss_axes.plot(x, [m["val_loss"] for m in epochs], "s-", color="tab:orange", label="validation")
    accuracy_axes.plot(x, [error(m["train_accuracy"]) for m in epochs], "o", color="tab:blue",
                       label="training, whole epoch")
    accuracy_axes.plot(x, [error(m["val_accuracy"]) for m in epochs], "s-", color="tab:orange", label="validation")
    for test in tests:
        loss_axes.plot([test["epoch"]], [test["loss"]], "*", markersize=14, color="tab:red",
                       label=f"test: {test['loss']:.4f}")
        accuracy_axes.plot([test["epoch"]], [error(test["accuracy"])], "*", markersize=14, color="tab:red",
                           label=f"test: {100 * test['accuracy']:.2f}%")
    losses = [m["running_loss"] for m in logs] + [m["val_loss"] for m in epochs]
    spread = max(losses) / max(min(losses), 1e-12) if losses else 1.0
    loss_axes.set(xlabel="epoch", ylabel="mean cross-entropy", title="loss", yscale="log" if spread > 10 else "linear")
    # Accuracy drawn as its error rate on a log scale, better upwards: the first epoch's 10% -> 90%
    # and the last epochs' 98% -> 99% both show.
    errors = [e for e in running_accuracy if e == e] + [error(m["val_accuracy"]) for m in epochs]
    worst, best = min(95.0, 1.3 * max(errors)), max(0.05, min(errors) / 1.3)
    ticks = [t for t in (90, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if best <= t <= worst]
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy (scale: log of the error rate)",
                      yscale="log")
    accuracy_axes.set_yticks(ticks, [f"{100 - t:g}" for t in ticks])
    accuracy_axes.yaxis.set_minor_formatter("")
    accuracy_axes.set_ylim(worst, best)  # inverted: better is up
    right = max([m["epoch"] for m in epochs] + [a for a in at if a == a] + [1])
    for axes in (loss_axes, accuracy_axes):
        axes.set_xlim(-0.02 * right, 1.04 * right)  # epoch 0 (the first log) to the last, nothing hidden
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    if len(logs) < 2 * max(1, len(epochs)):  # a short run: the log interval is longer than its epochs
        figure.suptitle("few training points: one is logged every --log-every steps (default 50); "
                        "a quick run shows its curve with e.g. --log-every 5", fontsize=9)
    return save(figure, path)


def confusion_matrix(confusion: list[list[int]], path: Path, class_names=None, title: str = "test") -> Path:
    """The K x K counts (rows: true class, columns: predicted), the diagonal greyed out so the
    mistakes stand out."""
    counts = np.asarray(confusion)  # (K, K)
    K = len(counts)
    names = class_labels(class_names, K)
    mistakes = counts.copy()
    np.fill_diagonal(mistakes, 0)
    figure = new_figure(1.5 + 0.6 * K, 1.0 + 0.55 * K)
    axes = figure.subplots()
    image = axes.imshow(mistakes, cmap="Reds", vmin=0, vmax=max(1, mistakes.max()))
    for true in range(K):
        for predicted in range(K):
            count = counts[true, predicted]
            on_diagonal = true == predicted
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                      color="grey" if on_diagonal else ("white" if count > 0.6 * mistakes.max() else "black"))
    axes.set_xticks(range(K), names, rotation=45 if class_names else 0, ha="right" if class_names else "center")
    axes.set_yticks(range(K), names)
    axes.set(xlabel="predicted", ylabel="true")
    total, correct = counts.sum(), np.trace(counts)
    axes.set_title(f"{title}: {total - correct} of {total} misclassified ({100 * correct / total:.2f}% correct)")
    figure.colorbar(image, ax=axes, label="misclassified images")
    return save(figure, path)


def misclassified(images: np.ndarray, true: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                  path: Path, num_classes: int, class_names=None, total: int | None = None,
                  indices: np.ndarray | None = None, split: str = "test") -> Path:
    """A grid of misclassified images (N, 28, 28), each titled with its index in the split (for
    ``inspect_digit.py --index N``), its true and predicted class and the probability the model
    gave its wrong answer."""
    n = len(images)
    if n == 0:
        raise LSTMMnistError("no misclassified images to show")
    names = class_labels(class_names, num_classes)
    columns = min(10, n)
    rows = -(-n // columns)
    figure = new_figure(1.3 * columns, 1.45 * rows + 0.5)
    grid = figure.subplots(rows, columns, squeeze=False)  # (rows, columns) of axes, even for one image
    for k, axes in enumerate(grid.flat):
        axes.axis("off")
        if k < n:
            axes.imshow(images[k], cmap="gray", vmin=0, vmax=1)
            index = "" if indices is None else f"#{indices[k]} "
            axes.set_title(f"{index}true {names[true[k]]}\nsaid {names[predicted[k]]} {100 * confidence[k]:.0f}%",
                           fontsize=8, color="tab:red")
    shown = f"the {n} most confident" if total and total > n else "all"
    figure.suptitle(f"{shown} of {counted(total if total else n, 'misclassified image')}"
                    + ("" if indices is None else f" (#N: {split} image N, {inspect_command()} --index N)"))
    return save(figure, path)


# How each traced tensor is drawn: colour map and a fixed value range, the same for every digit so
# that two figures compare (the cell state is not bounded: values beyond +-2 take the end colours).
PANELS = {
    "i": ("viridis", 0, 1, "i: input gate"),
    "f": ("viridis", 0, 1, "f: forget gate"),
    "g": ("RdBu_r", -1, 1, "g: candidate"),
    "o": ("viridis", 0, 1, "o: output gate"),
    "r": ("viridis", 0, 1, "r: reset gate"),
    "z": ("viridis", 0, 1, "z: update gate"),
    "n": ("RdBu_r", -1, 1, "n: candidate"),
    "c": ("RdBu_r", -2, 2, "c: cell state"),
    "h": ("RdBu_r", -1, 1, "h: hidden state"),
}
MARKER = "magenta"  # the marked row: a colour none of the colour maps uses
DECISIVE = 4  # units shown as lines: those that add most to the answer


def unit_order(t: Trace) -> np.ndarray:
    """The units sorted by what they add to the final answer's logit, head.weight[answer] * h_T:
    the most for it first, the most against it last. (H,)"""
    if t.contributions is None:
        return np.arange(t.steps["h"].size(1))
    return np.argsort(-t.contributions[t.prediction].numpy(), kind="stable")


def line_panels(t: Trace) -> list[str]:
    """The quantities drawn as lines for the decisive units: the memory and the gate that keeps it."""
    for gate, memory in (("f", "c"), ("z", "h")):  # the LSTM's, the GRU's
        if gate in t.steps:
            return [gate, memory]
    return ["h"]  # the plain RNN's state


def trace_figure(t: Trace, path: Path, row: int | None = None, class_names=None, title: str = "") -> Path:
    """One digit read row by row, rows downwards in every panel as in the digit: the image with row
    ``row`` marked (default: the row from which the final answer stays on top); each gate and state
    as a heat map (rows x units, units sorted by what they add to the answer); the probability of each
    class after each row; and, as lines, the memory and forget gate of the few most decisive units."""
    row = t.decided_at() if row is None else row
    K = t.probabilities.size(1)
    labels = class_labels(class_names, K)
    names = [name for name in PANELS if name in t.steps]
    lines = line_panels(t)
    panels = ["image", *names, "probabilities", *[f"line:{name}" for name in lines]]
    columns = 5
    rows = -(-len(panels) // columns)
    figure = new_figure(3.2 * columns, 3.4 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in grid.flat[len(panels):]:
        axes.axis("off")
    order = unit_order(t)
    decisive = order[:DECISIVE]
    T = len(t.image)
    for axes, panel in zip(grid.flat, panels):
        if panel == "image":
            axes.imshow(t.image.numpy(), cmap="gray", vmin=0, vmax=1)
            axes.set(title="the digit, read row by row", ylabel="row t (read top to bottom)", xlabel="pixel")
        elif panel == "probabilities":
            image = axes.imshow(t.probabilities.numpy(), aspect="auto", cmap="Greens", vmin=0, vmax=1,
                                interpolation="nearest")  # (T, K)
            axes.set_xticks(range(K), labels, rotation=90 if class_names else 0)
            axes.set(title="P(class) had it stopped after row t", xlabel="class")
            axes.text(0.5, -0.2, "(the head was trained on row 27's state only)", transform=axes.transAxes,
                      ha="center", va="top", fontsize=7)
            figure.colorbar(image, ax=axes, fraction=0.06)
        elif panel.startswith("line:"):
            name = panel[5:]
            for unit in decisive:
                axes.plot(t.steps[name][:, unit].numpy(), np.arange(T), ".-", markersize=3,
                          label=f"unit {unit} ({float(t.contributions[t.prediction, unit]):+.1f})"
                          if t.contributions is not None else f"unit {unit}")
            low, high = PANELS[name][1:3]
            axes.set(xlim=(low - 0.05 * (high - low), high + 0.05 * (high - low)), ylim=(T - 0.5, -0.5),
                     title=f"{name} of the {len(decisive)} most decisive units", xlabel=name)
            axes.grid(alpha=0.3)
            axes.legend(fontsize=6, loc="lower left", title="(adds to the answer)", title_fontsize=6)
        else:
            cmap, low, high, label = PANELS[panel]
            values = t.steps[panel].numpy()[:, order]  # (T, H): one line per row, units sorted
            image = axes.imshow(values, aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            axes.set(title=label, xlabel="unit (most for the answer → most against)")
            figure.colorbar(image, ax=axes, fraction=0.06)
        axes.axhline(row, color=MARKER, linewidth=1.5, alpha=0.8)
        axes.set_yticks(range(0, T, 4))
    probability = float(t.probabilities[-1, t.prediction])
    figure.suptitle(f"{title}{' ' if title else ''}prediction {labels[t.prediction]} "
                    f"({100 * probability:.1f}%), on top from row {t.decided_at()} on; "
                    f"row {row} marked in magenta", fontsize=13)
    return save(figure, path)


def trace_animation(t: Trace, path: Path, class_names=None, milliseconds: int = 300) -> Path:
    """A GIF of the model reading the digit: at frame t, the rows read so far, the forget gate and
    the memory of every unit (sorted as in ``trace_figure``) after each of them, and the
    probability of each class had it stopped there."""
    from PIL import Image

    K = t.probabilities.size(1)
    labels = class_labels(class_names, K)
    gate, memory = ("f", "c") if "c" in t.steps else ("z", "h") if "z" in t.steps else ("h", "h")
    order = unit_order(t)
    T = len(t.image)
    figure = new_figure(8.4, 2.8)
    axes = figure.subplots(1, 4, width_ratios=[1, 1.6, 1.6, 1.3])
    seen = np.full((T, t.image.size(1)), np.nan)
    shown = {name: np.full((T, len(order)), np.nan) for name in (gate, memory)}
    digit = axes[0].imshow(seen, cmap="gray", vmin=0, vmax=1)
    axes[0].set(title="rows read", xticks=[], yticks=[])
    maps = {}
    for a, name in zip(axes[1:3], (gate, memory)):
        cmap, low, high, label = PANELS[name]
        maps[name] = a.imshow(shown[name], aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        a.set(title=label, xticks=[], ylabel="row" if name == gate else None)
    bars = axes[3].bar(range(K), np.zeros(K), color="tab:green")
    axes[3].set(ylim=(0, 1), title="P(class) now", xticks=range(K))
    axes[3].set_xticklabels(labels, fontsize=7)
    frames = []
    for row in range(T):
        seen[row] = t.image[row].numpy()
        digit.set_data(seen)
        for name in (gate, memory):
            shown[name][row] = t.steps[name][row].numpy()[order]
            maps[name].set_data(shown[name])
        for bar, p in zip(bars, t.probabilities[row].numpy()):
            bar.set_height(p)
        best = int(t.probabilities[row].argmax())
        figure.suptitle(f"after row {row}: {labels[best]} ({100 * float(t.probabilities[row, best]):.0f}%)")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        buffer.seek(0)
        frames.append(Image.open(buffer).convert("P", palette=Image.ADAPTIVE, colors=64))
    durations = [milliseconds] * (T - 1) + [6 * milliseconds]  # linger on the answer
    atomic_write(Path(path), lambda f: frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                                                      duration=durations, loop=0))
    return Path(path)


def gradient_per_row(results: dict[str, dict], path: Path, title: str) -> Path:
    """The gradient's size at each row, log scale: for each cell of ``results`` (as
    scripts/rnn_vs_lstm.py measures them), a dashed line at initialisation, a solid one trained."""
    figure = new_figure(8, 4.8)
    axes = figure.subplots()
    for cell, r in results.items():
        color, name = CELL_COLORS[cell], cell.upper()
        accuracy = "diverged" if r["test_accuracy"] is None else f"test {100 * r['test_accuracy']:.2f}%"
        axes.plot(r["gradient_at_init"], "--", marker=".", color=color, label=f"{name} at initialisation")
        axes.plot(r["gradient_trained"], "-", marker=".", color=color, label=f"{name} trained ({accuracy})")
    axes.set(yscale="log", xlabel="row t (0 = top of the image, read first)",
             ylabel="mean ‖∂loss/∂x_t‖ over the batch", title=title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="small")
    return save(figure, path)


CELL_COLORS = {"lstm": "tab:blue", "gru": "tab:green", "rnn": "tab:red"}


def forget_bias_sweep(results: dict[str, list[dict]], path: Path) -> Path:
    """The gradient reaching each row at initialisation, log scale, one line per model of ``results``
    (as scripts/forget_bias_sweep.py measures them): the first seed's line, the others' range shaded."""
    figure = new_figure(8, 4.8)
    axes = figure.subplots()
    for k, (name, runs) in enumerate(results.items()):
        gradients = np.array([r["gradient"] for r in runs])  # (seeds, T)
        color = "tab:green" if name.startswith("GRU") else f"C{k}"
        axes.plot(gradients[0], marker=".", color=color, linestyle="--" if name.startswith("GRU") else "-",
                  label=f"{name}: row 0 ÷ row 27 = {runs[0]['first_to_last']:.2g}")
        if len(runs) > 1:
            axes.fill_between(range(gradients.shape[1]), gradients.min(0), gradients.max(0), color=color, alpha=0.2)
    axes.set(yscale="log", xlabel="row t (0 = top of the image, read first)",
             ylabel="mean ‖∂loss/∂x_t‖ over the batch",
             title="at initialisation: the forget bias decides how far back the gradient reaches")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="small")
    return save(figure, path)
