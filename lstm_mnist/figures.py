"""The figures: training curves, confusion matrix, misclassified digits, one digit's trace,
and the gradient that reaches each row.

Each function draws one PNG with matplotlib's object-oriented API (no global pyplot state,
no display needed) and writes it atomically, like the checkpoints. matplotlib is imported
here only, so the rest of the package works without it.
"""

from pathlib import Path

import numpy as np

from .files import atomic_write
from .errors import LSTMMnistError
from .evaluation import class_labels
from .trace import Trace

DPI = 100
TRAINING_CURVES_SIZE = (10, 4)  # inches: loss and accuracy side by side


def new_figure(width: float, height: float):
    """A matplotlib Figure of ``width`` x ``height`` inches, or a one-line error without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise LSTMMnistError("figures need matplotlib: pip install matplotlib") from None
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(figure, path: Path) -> Path:
    atomic_write(Path(path), lambda f: figure.savefig(f, format="png", dpi=DPI))
    return Path(path)


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
        running_accuracy.append(100 * m["running_accuracy"])
    loss_axes.plot(at, running_loss, ".-", color="tab:blue", alpha=0.5, label="training (running mean within the epoch)")
    accuracy_axes.plot(at, running_accuracy, ".-", color="tab:blue", alpha=0.5,
                       label="training (running mean within the epoch)")
    x = [m["epoch"] for m in epochs]
    loss_axes.plot(x, [m["train_loss"] for m in epochs], "o", color="tab:blue", label="training, whole epoch")
    loss_axes.plot(x, [m["val_loss"] for m in epochs], "s-", color="tab:orange", label="validation")
    accuracy_axes.plot(x, [100 * m["train_accuracy"] for m in epochs], "o", color="tab:blue",
                       label="training, whole epoch")
    accuracy_axes.plot(x, [100 * m["val_accuracy"] for m in epochs], "s-", color="tab:orange", label="validation")
    for test in tests:
        loss_axes.plot([test["epoch"]], [test["loss"]], "*", markersize=14, color="tab:red",
                       label=f"test: {test['loss']:.4f}")
        accuracy_axes.plot([test["epoch"]], [100 * test["accuracy"]], "*", markersize=14, color="tab:red",
                           label=f"test: {100 * test['accuracy']:.2f}%")
    losses = [m["running_loss"] for m in logs] + [m["val_loss"] for m in epochs]
    spread = max(losses) / max(min(losses), 1e-12) if losses else 1.0
    loss_axes.set(xlabel="epoch", ylabel="mean cross-entropy", title="loss", yscale="log" if spread > 10 else "linear")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    values = [100 * m["running_accuracy"] for m in logs[len(logs) // 4:]] + [100 * m["val_accuracy"] for m in epochs]
    if values:  # show the interesting end of the curve, not the first steps at 10%
        accuracy_axes.set_ylim(max(0.0, min(values) - 1.0), 100.0)
    for axes in (loss_axes, accuracy_axes):
        axes.set_xlim(left=0)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
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
                  path: Path, num_classes: int, class_names=None, total: int | None = None) -> Path:
    """A grid of misclassified images (N, 28, 28), each titled with its true and predicted
    class and the probability the model gave its wrong answer."""
    n = len(images)
    if n == 0:
        raise LSTMMnistError("no misclassified images to show")
    names = class_labels(class_names, num_classes)
    columns = min(10, n)
    rows = -(-n // columns)
    figure = new_figure(1.3 * columns, 1.45 * rows + 0.5)
    grid = np.atleast_2d(figure.subplots(rows, columns, squeeze=False))
    for k, axes in enumerate(grid.flat):
        axes.axis("off")
        if k < n:
            axes.imshow(images[k], cmap="gray", vmin=0, vmax=1)
            axes.set_title(f"true {names[true[k]]}\nsaid {names[predicted[k]]} {100 * confidence[k]:.0f}%",
                           fontsize=8, color="tab:red")
    shown = f"the {n} most confident" if total and total > n else "all"
    figure.suptitle(f"{shown} of {total if total else n} misclassified images")
    return save(figure, path)


# How each traced tensor is drawn: colour map and value range.
PANELS = {
    "i": ("viridis", 0, 1, "i: input gate"),
    "f": ("viridis", 0, 1, "f: forget gate"),
    "g": ("RdBu_r", -1, 1, "g: candidate"),
    "o": ("viridis", 0, 1, "o: output gate"),
    "r": ("viridis", 0, 1, "r: reset gate"),
    "z": ("viridis", 0, 1, "z: update gate"),
    "n": ("RdBu_r", -1, 1, "n: candidate"),
    "c": ("RdBu_r", None, None, "c: cell state"),
    "h": ("RdBu_r", -1, 1, "h: hidden state"),
}


def trace_figure(t: Trace, path: Path, row: int | None = None, class_names=None, title: str = "") -> Path:
    """One digit read row by row: the image with row ``row`` marked (default: the row from which
    the final answer stays on top), a heat map of each gate and state (units x rows), and the
    probability of each class after each row."""
    row = t.decided_at() if row is None else row
    K = t.probabilities.size(1)
    names = [name for name in PANELS if name in t.steps]
    panels = ["image", *names, "probabilities"]
    columns = 4
    rows = -(-len(panels) // columns)
    figure = new_figure(4.2 * columns, 3.6 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in grid.flat[len(panels):]:
        axes.axis("off")
    for axes, panel in zip(grid.flat, panels):
        if panel == "image":
            axes.imshow(t.image.numpy(), cmap="gray", vmin=0, vmax=1)
            axes.axhspan(row - 0.5, row + 0.5, facecolor="none", edgecolor="tab:red", linewidth=2)
            axes.set(title=f"the digit; row {row} marked", xlabel="pixel", ylabel="row")
            continue
        if panel == "probabilities":
            values = t.probabilities.numpy().T  # (K, T)
            image = axes.imshow(values, aspect="auto", cmap="Greens", vmin=0, vmax=1, interpolation="nearest")
            axes.set_yticks(range(K), class_labels(class_names, K))
            axes.set(title="P(class) if it decided after row t", xlabel="row t", ylabel="class")
        else:
            cmap, low, high, label = PANELS[panel]
            values = t.steps[panel].numpy().T  # (H, T): one line per unit, one column per row
            if low is None:
                bound = float(np.percentile(np.abs(values), 99)) or 1.0  # a few large units would wash out the rest
                low, high = -bound, bound
            image = axes.imshow(values, aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            axes.set(title=label, xlabel="row t", ylabel="unit")
        axes.axvline(row, color="tab:red", linewidth=1, alpha=0.7)
        figure.colorbar(image, ax=axes, fraction=0.05)
    probability = float(t.probabilities[-1, t.prediction])
    figure.suptitle(f"{title}{' ' if title else ''}prediction {class_labels(class_names, K)[t.prediction]} "
                    f"({100 * probability:.1f}%), on top from row {t.decided_at()} on", fontsize=13)
    return save(figure, path)


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
