"""Accuracy, per-class accuracy and the confusion matrix of a classifier on a split.

``evaluate`` returns plain numbers (it prints nothing): ``logits_of`` runs the model over a split
in batches, ``metrics_of`` counts; ``format_report`` turns the numbers into the text
``evaluate.py`` prints.

What names a class lives here too, as the report is where names first appear: ``class_labels``
("0".."9", or train.py's --class-names), which the figures, the trace, the CSV and the web page use,
and ``unfit_name``, the rule a name must meet, checked on the command line and in a checkpoint.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import Split
from .words import counted


@torch.inference_mode()
def logits_of(model: nn.Module, images: Tensor, batch_size: int = 1000) -> Tensor:
    """The model's logits (N, K) for images (N, T, I), computed in batches, in eval mode."""
    was_training = model.training
    model.eval()
    logits = torch.cat([model(images[start : start + batch_size]) for start in range(0, len(images), batch_size)])
    model.train(was_training)
    return logits  # (N, K)


def evaluate(model: nn.Module, split: Split, batch_size: int = 1000) -> dict:
    """Metrics of ``model`` on ``split`` (on the split's device): see ``metrics_of``."""
    return metrics_of(logits_of(model, split.images, batch_size), split.labels)


def metrics_of(logits: Tensor, labels: Tensor) -> dict:
    """Metrics of logits (N, K) against labels (N,), as plain Python values:

    accuracy          fraction of images classified correctly
    loss              mean cross-entropy
    n                 number of images
    per_class         accuracy of each true class (None for a class with no image)
    confusion_matrix  K x K counts, rows = true class, columns = predicted class
    """
    loss = F.cross_entropy(logits, labels)
    predicted = logits.argmax(dim=1)  # (N,)
    K = logits.size(1)
    confusion = torch.bincount(labels * K + predicted, minlength=K * K).view(K, K).cpu()  # (K, K)
    correct = confusion.diag()  # (K,)
    totals = confusion.sum(dim=1)  # (K,) images of each true class
    return {
        "accuracy": correct.sum().item() / len(labels),
        "loss": loss.item(),
        "n": len(labels),
        "per_class": [c / t if t else None for c, t in zip(correct.tolist(), totals.tolist())],
        "confusion_matrix": confusion.tolist(),
    }


MAX_NAME_LENGTH = 40  # characters in a class name: it heads a column of the report


def unfit_name(name: str) -> str | None:
    """Why ``name`` cannot name a class (it is printed in tables, figures and CSV files), or None:
    blank, too long, or holding a control character (a line break, a terminal escape)."""
    if not name.strip():
        return "is blank"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long, more than {MAX_NAME_LENGTH}"
    if not name.isprintable():
        return f"holds a control character ({name!r})"
    return None


def class_labels(class_names, num_classes: int) -> list[str]:
    """What each label is called: the names given (train.py --class-names), else "0", "1", ..."""
    return list(class_names) if class_names else [str(k) for k in range(num_classes)]


def format_report(metrics: dict, title: str = "test", class_names=None) -> str:
    """The metrics as a few lines of text: accuracy, per-class accuracy (named, if
    ``class_names`` are given), confusion matrix."""
    confusion = metrics["confusion_matrix"]
    K = len(confusion)
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    lines = [
        f"{title} accuracy: {100 * metrics['accuracy']:.2f}% "
        f"({round(metrics['accuracy'] * metrics['n'])}/{counted(metrics['n'], 'image')}), "
        f"mean loss {metrics['loss']:.4f}",
        "",
        "per-class accuracy:",
    ]
    width_name = max((len(name) for name in class_names), default=0) if class_names else 0
    for k, acc in enumerate(metrics["per_class"]):
        name = f" {class_names[k]:<{width_name}}" if class_names else ""
        accuracy = "   n/a" if acc is None else f"{100 * acc:6.2f}%"
        lines.append(f"  {k}{name}: {accuracy}  ({counted(sum(confusion[k]), 'image')})")
    lines += ["", "confusion matrix (rows: true label, columns: predicted label):"]
    lines.append("true\\pred" + "".join(f"{k:>{width}}" for k in range(K)))
    for k, row in enumerate(confusion):
        lines.append(f"{k:>9}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)
