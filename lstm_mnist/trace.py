"""Every intermediate tensor of one forward pass, for notebooks, debuggers and figures.

    from lstm_mnist.checkpoint import load_model
    from lstm_mnist.trace import trace

    model, _ = load_model("checkpoint.pt")
    t = trace(model, image)          # image: (28, 28) pixels in [0, 1]
    t.steps["f"]                     # (T, H): the forget gate f_t after each of the 28 rows
    t.steps["c"][27]                 # (H,): the cell state after the last row
    t.probabilities[14]              # (K,): what the model would answer after row 14

The names are those of the cell's equations: for the LSTM (cell.py) ``gates`` (the four
pre-activations of equation (1), (T, 4H)), ``i``, ``f``, ``g``, ``o``, ``c`` and ``h``; for
the plain RNN (rnn_cell.py) ``h``; for the GRU (gru_cell.py) ``r``, ``z``, ``n`` and ``h``.
The trace runs the model's own loop (``RecurrentClassifier.read`` in model.py) and asks it for
the records that the cell makes of its tensors (the cell's ``records`` argument), so what is
traced is exactly what the model computes, and a breakpoint in the cell stops in that loop.

Shapes: T = 28 rows, I pixels per row, H hidden units, K classes.
"""

from dataclasses import dataclass

import torch
from torch import Tensor

from .evaluation import class_labels
from .model import RecurrentClassifier
from .words import counted


@dataclass
class Trace:
    """One image read row by row: what the cell saw, held and would have answered at each step."""

    cell: str  # "lstm", "rnn" or "gru": which names ``steps`` holds
    image: Tensor  # (T, I) the pixels, in [0, 1]
    x: Tensor  # (T, I) what the cell read at each step: standardised (and projected: (T, H)) rows
    steps: dict[str, Tensor]  # name -> (T, H) (``gates``: (T, 4H)), as named in the cell's equations
    logits: Tensor  # (T, K) the head applied to the output after each row; logits[-1] is the model's
    probabilities: Tensor  # (T, K) softmax of those: the answer if the model had to decide after row t
    contributions: Tensor | None = None  # (K, H) head.weight * h_T: what each unit adds to each class's final logit

    @property
    def prediction(self) -> int:
        """The model's answer: the most probable class after the last row."""
        return int(self.probabilities[-1].argmax())

    def decided_at(self) -> int:
        """The first row from which the final answer stays the most probable class to the end."""
        best = self.probabilities.argmax(dim=1)  # (T,)
        t = len(best) - 1
        while t > 0 and best[t - 1] == best[-1]:
            t -= 1
        return t


@torch.no_grad()
def trace(model: RecurrentClassifier, image: Tensor) -> Trace:
    """Run ``model`` on one image, (T, I), (1, T, I) or (1, 1, T, I) pixels in [0, 1], keeping every step's
    tensors. A batch, pixels that are not floats (uint8's 0 to 255) or outside [0, 1] (NaN, 0 to 255.0) is a
    ``ValueError``: the trace would describe another picture."""
    image = one_image(image)  # (T, I)
    was_training = model.training
    model.eval()
    x = model.rows(image.unsqueeze(0))  # (1, T, I): standardised, projected, as the model does it
    records = []
    model.read(x, records=records)  # the model's own loop; the cell adds one record per step
    model.train(was_training)

    steps = {name: torch.cat([record[name] for record in records]) for name in records[0]}  # name -> (T, ...)
    logits = model.head(steps["h"])  # (T, K): the head applied to the output after each row
    return Trace(model.config.cell, image.detach().cpu(), x[0].cpu(),
                 {name: tensor.cpu() for name, tensor in steps.items()}, logits.cpu(), logits.softmax(dim=1).cpu(),
                 (model.head.weight * steps["h"][-1]).cpu())  # (K, H)


def one_image(image: Tensor) -> Tensor:
    """``image`` as (T, I), refusing what would be read as another picture without a word: a batch
    (B, T, I) with B > 1 (its rows would be read on, as one image of B·T rows). Integer pixels (0 to
    255, where the model expects [0, 1]) are refused by ``model.rows``, as in every use of the model."""
    if not isinstance(image, Tensor):  # a numpy array or a list: said as the model says it
        raise TypeError(f"expected an image as a torch.Tensor, got a {type(image).__name__}: torch.as_tensor(image)")
    if image.dim() < 2 or any(n != 1 for n in image.shape[:-2]):
        batch = "; for image k of a batch (B, T, I), pass images[k]" if image.dim() > 2 else ""
        raise ValueError(f"trace reads one image, of shape (T, I), (1, T, I) or (1, 1, T, I); "
                         f"got {tuple(image.shape)}{batch}")
    if image.is_floating_point() and not bool(((image >= 0) & (image <= 1)).all()):  # NaN is neither: refused too
        # the model itself reads any floats (a check per batch would cost the forward); one image's is a few us
        nan, high = bool(image.isnan().any()), float(image.nan_to_num(0).max())
        got = "NaN" if nan else f"values from {float(image.min()):g} to {high:g}"
        hint = " (0 to 255?): pass image / 255" if high > 1 else ""
        raise ValueError(f"trace reads pixels in [0, 1]; got {got}{hint}")
    return image.reshape(image.shape[-2:])  # (T, I); model.rows refuses pixels that are not floats


# The text view: one line per row. Pixels and probabilities are drawn with shades; terminals
# that cannot print them (an old Windows console, a pipe in ASCII) get plain characters.
SHADES = " ░▒▓█", " .:+#"
LEVELS = " ▁▂▃▄▅▆▇█", " .:-=+*#%"
GATES = {"i", "f", "o", "r", "z"}  # in (0, 1): shown as their mean over the units
CANDIDATES = {"g", "n"}  # in (-1, 1): mean
STATES = {"c", "h"}  # shown as their mean absolute value


def shade(values, characters: str) -> str:
    """Values in [0, 1] as characters from dark (first) to bright (last)."""
    top = len(characters) - 1
    return "".join(characters[min(top, max(0, round(float(v) * top)))] for v in values)


def format_trace(t: Trace, class_names=None, unicode: bool = True) -> str:
    """The trace as text: for each row, the pixels read, the mean of each gate, the mean size of
    each state, and the probability of each class had the model decided after that row."""
    shades, levels = (SHADES[0], LEVELS[0]) if unicode else (SHADES[1], LEVELS[1])
    names = [name for name in ("i", "f", "g", "o", "r", "z", "n", "c", "h") if name in t.steps]
    K = t.probabilities.size(1)
    labels = class_labels(class_names, K)
    headers = [f"|{name}|" if name in STATES else name for name in names]
    probability_header = "".join(labels) if all(len(label) == 1 for label in labels) else "P(class)"
    lines = [
        f"{'row':>3}  {'pixels of the row read':<28}  " + " ".join(f"{h:>5}" for h in headers)
        + f"  {probability_header:<{max(K, 8)}}  best"
    ]
    for row in range(len(t.image)):
        values = []
        for name in names:
            tensor = t.steps[name][row]  # (H,)
            value = tensor.abs().mean() if name in STATES else tensor.mean()
            values.append(f"{float(value):>+5.2f}" if name in CANDIDATES else f"{float(value):>5.2f}")
        p = t.probabilities[row]  # (K,)
        best = int(p.argmax())
        lines.append(f"{row:>3}  {shade(t.image[row], shades)}  " + " ".join(values)
                     + f"  {shade(p, levels):<{max(K, 8)}}  {labels[best]} {100 * float(p[best]):3.0f}%")
    means = " ".join(name for name in names if name not in STATES)  # none for a plain RNN: h alone
    legend = [f"{means}: mean over the {counted(t.steps['h'].size(1), 'unit')}"] if means else []
    legend.append(f"{' '.join(f'|{name}|' for name in names if name in STATES)}: mean absolute value")
    legend.append(f"{probability_header}: the probability of each class, the taller the likelier")
    lines.append(f"({'; '.join(legend)})")
    return "\n".join(lines)
