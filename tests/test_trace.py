"""trace(): every intermediate tensor of one forward pass equals what the model and PyTorch's
own cells compute; its text view."""

import pytest
import torch
from torch import nn

from lstm_mnist import LSTMClassifier
from lstm_mnist.reference import reference_cell
from lstm_mnist.trace import format_trace, trace

pytestmark = pytest.mark.usefixtures("float64")  # conftest.py: compare in float64


def rows_of(model, image):
    """What the cell reads, computed here from the definition: standardised, maybe projected."""
    x = (image - 0.1307) / 0.3081  # (T, I)
    return model.projection(x) if model.projection is not None else x


@pytest.mark.parametrize("input_projection", [False, True])
def test_lstm_trace_holds_the_gates_and_states_of_the_equations(input_projection):
    torch.manual_seed(0)
    H = 8
    model = LSTMClassifier(hidden_size=H, forget_bias=1.0, input_projection=input_projection)
    image = torch.rand(28, 28)
    t = trace(model, image)

    assert set(t.steps) == {"gates", "i", "f", "g", "o", "c", "h"}
    assert t.steps["gates"].shape == (28, 4 * H) and all(t.steps[k].shape == (28, H) for k in "ifgoch")
    torch.testing.assert_close(t.logits[-1], model(image[None])[0], rtol=1e-12, atol=1e-12)  # the model's answer

    # h and c after every row equal nn.LSTMCell's, with the forget bias folded into its bias.
    assert model.cell.forget_bias == 1.0
    reference = reference_cell(model.cell)
    x = rows_of(model, image).detach()  # (T, I)
    torch.testing.assert_close(t.x, x, rtol=1e-12, atol=1e-12)
    h = c = torch.zeros(1, H)
    cell = model.cell
    for row in range(28):
        h_prev, c_prev = h, c
        h, c = reference(x[row : row + 1], (h, c))
        torch.testing.assert_close(t.steps["h"][row], h[0].detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(t.steps["c"][row], c[0].detach(), rtol=1e-12, atol=1e-12)
        # and the gates are the named blocks of equation (1) through their non-linearities
        gates = (x[row] @ cell.weight_ih.T + cell.bias_ih + h_prev[0] @ cell.weight_hh.T + cell.bias_hh).detach()
        torch.testing.assert_close(t.steps["gates"][row], gates, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(t.steps["i"][row], torch.sigmoid(gates[:H]))
        torch.testing.assert_close(t.steps["f"][row], torch.sigmoid(gates[H : 2 * H] + 1.0))
        torch.testing.assert_close(t.steps["g"][row], torch.tanh(gates[2 * H : 3 * H]))
        torch.testing.assert_close(t.steps["o"][row], torch.sigmoid(gates[3 * H :]))
        torch.testing.assert_close(t.steps["c"][row], t.steps["f"][row] * c_prev[0].detach()
                                   + t.steps["i"][row] * t.steps["g"][row])
        torch.testing.assert_close(t.logits[row], model.head(h[0]).detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(t.probabilities.sum(dim=1), torch.ones(28))


@pytest.mark.parametrize("cell, reference_class, names", [("rnn", nn.RNNCell, {"h"}),
                                                          ("gru", nn.GRUCell, {"r", "z", "n", "h"})])
def test_rnn_and_gru_traces_equal_pytorchs_cells(cell, reference_class, names):
    torch.manual_seed(1)
    model = LSTMClassifier(hidden_size=6, cell=cell)
    image = torch.rand(28, 28)
    t = trace(model, image)
    assert set(t.steps) == names
    torch.testing.assert_close(t.logits[-1], model(image[None])[0], rtol=1e-12, atol=1e-12)
    reference = reference_class(28, 6)
    reference.load_state_dict(model.cell.state_dict())
    h = torch.zeros(1, 6)
    for row, x in enumerate(rows_of(model, image)):
        h_prev, h = h, reference(x[None], h)
        torch.testing.assert_close(t.steps["h"][row], h[0].detach(), rtol=1e-12, atol=1e-12)
        if cell == "gru":  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
            z, n = t.steps["z"][row], t.steps["n"][row]
            torch.testing.assert_close((1 - z) * n + z * h_prev[0].detach(), h[0].detach())


def test_decided_at_is_the_first_row_of_the_final_answers_last_run():
    torch.manual_seed(0)
    t = trace(LSTMClassifier(hidden_size=4), torch.rand(28, 28))
    t.probabilities = torch.full((28, 3), 0.1)
    winners = [0] * 10 + [2] * 5 + [1] * 3 + [2] * 10  # 2 wins at rows 10-14, then from row 18 on
    t.probabilities[torch.arange(28), torch.tensor(winners)] = 0.8
    assert t.prediction == 2 and t.decided_at() == 18


def test_text_view_has_a_line_per_row_and_an_ascii_fallback():
    torch.manual_seed(0)
    image = torch.zeros(28, 28)
    image[5, 3:7] = 1.0
    t = trace(LSTMClassifier(hidden_size=4), image)
    text = format_trace(t)
    lines = text.splitlines()
    assert len(lines) == 1 + 28 + 1  # header, the rows, the legend
    assert lines[0].split()[:8] == ["row", "pixels", "of", "the", "row", "read", "i", "f"]
    assert lines[1 + 5][5:5 + 28] == "   ████" + " " * 21  # row 5's bright pixels, in place
    plain = format_trace(t, unicode=False)
    assert plain.isascii() and plain.splitlines()[1 + 5][5:5 + 28] == "   ####" + " " * 21


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_gradient_per_row_is_the_gradient_of_each_images_own_loss(cell):
    """Checked against autograd on the raw pixels, one image at a time: d loss / d x_t is
    d loss / d pixels_t times the pixel standard deviation (x = (pixels - mean) / std)."""
    from lstm_mnist.gradients import gradient_per_row

    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8, cell=cell)
    images, labels = torch.rand(3, 28, 28), torch.tensor([3, 1, 4])
    per_row = gradient_per_row(model, images, labels)
    norms = []
    for image, label in zip(images, labels):
        pixels = image[None].clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(pixels), label[None])
        (grad,) = torch.autograd.grad(loss, pixels)
        norms.append((grad[0] * 0.3081).norm(dim=1))  # (T,)
    torch.testing.assert_close(per_row, torch.stack(norms).mean(dim=0), rtol=1e-10, atol=1e-14)
    assert per_row.shape == (28,) and model.training  # the model's mode is left as it was


@pytest.mark.parametrize("cell, legend", [
    ("lstm", "(i f g o: mean over the 4 units; |c| |h|: mean absolute value; 0123456789: "),
    ("gru", "(r z n: mean over the 4 units; |h|: mean absolute value; 0123456789: "),
    ("rnn", "(|h|: mean absolute value; 0123456789: "),  # no gate to average: no empty "(: mean over" part
])
def test_the_text_views_legend_names_only_what_its_columns_show(cell, legend):
    torch.manual_seed(0)
    t = trace(LSTMClassifier(hidden_size=4, cell=cell), torch.rand(28, 28))
    assert format_trace(t).splitlines()[-1].startswith(legend)


def test_one_image_in_any_of_its_shapes_and_nothing_that_would_be_read_as_another():
    """A batch (2, 28, 28) was traced as one image of 56 rows, and uint8 pixels (0 to 255, as
    torchvision's MNIST holds them) as pixels 255 times too bright: an answer about another picture."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=4)
    image = torch.rand(28, 28)
    for same in (image[None], image[None, None]):
        torch.testing.assert_close(trace(model, same).logits, trace(model, image).logits, rtol=0, atol=0)
    for batch in (torch.rand(2, 28, 28), torch.rand(2, 1, 28, 28), torch.rand(28, 28, 1)):
        with pytest.raises(ValueError, match=r"trace reads one image.*for image k of a batch \(B, T, I\)"):
            trace(model, batch)
    with pytest.raises(ValueError, match=r"one image, of shape \(T, I\).*got \(784,\)$"):
        trace(model, torch.rand(784))
    with pytest.raises(ValueError, match=r"floats in \[0, 1\], got torch.uint8 \(0 to 255\?\): pass images / 255"):
        trace(model, (image * 255).to(torch.uint8))


@pytest.mark.parametrize("pixels, message", [
    (torch.rand(28, 28) * 255, r"pixels in \[0, 1\]; got values from .* to .* \(0 to 255\?\): pass image / 255"),
    (torch.full((28, 28), float("nan")), r"pixels in \[0, 1\]; got NaN"),
    (torch.rand(28, 28) - 1, r"pixels in \[0, 1\]; got values from -"),
])
def test_pixels_outside_0_1_are_refused_not_traced_as_another_picture(pixels, message):
    """Before: 0 to 255.0 was traced (and predicted) as a picture 255 times too bright, NaN as NaN probabilities."""
    with pytest.raises(ValueError, match=message):
        trace(LSTMClassifier(hidden_size=4), pixels)
