"""Converting TensorFlow BasicLSTMCell weights: the converted cell and model compute what the
TensorFlow code computed. TensorFlow itself is not needed: its cell is written below in numpy,
line for line as in TensorFlow 1.x's rnn_cell_impl.BasicLSTMCell.call."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from lstm_mnist import LSTMCell, LSTMState
from lstm_mnist.from_tensorflow import basic_lstm_cell_to_torch, seed_model
from lstm_mnist.reference import fold_forget_bias

pytestmark = pytest.mark.usefixtures("float64")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def tf_basic_lstm_cell(inputs, state, kernel, bias, forget_bias):
    """TensorFlow 1.x BasicLSTMCell.call, state_is_tuple=True, in numpy."""
    c, h = state  # TensorFlow's LSTMStateTuple is (c, h)
    gate_inputs = np.concatenate([inputs, h], axis=1) @ kernel + bias
    i, j, f, o = np.split(gate_inputs, 4, axis=1)
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    new_h = np.tanh(new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def test_converted_cell_steps_like_tensorflows():
    rng = np.random.default_rng(0)
    I, H, B = 28, 16, 5
    kernel, bias = rng.normal(0, 0.3, (I + H, 4 * H)), rng.normal(0, 0.3, 4 * H)
    cell = LSTMCell(I, H, forget_bias=1.0)
    cell.load_state_dict(basic_lstm_cell_to_torch(kernel, bias, input_size=I))
    tf_state = (np.zeros((B, H)), np.zeros((B, H)))
    state = cell.zero_state(B, like=torch.zeros(1))
    for _ in range(28):  # static_rnn's loop
        x = rng.random((B, I))
        tf_output, tf_state = tf_basic_lstm_cell(x, tf_state, kernel, bias, forget_bias=1.0)
        output, state = cell(torch.from_numpy(x), state)
        np.testing.assert_allclose(output.detach().numpy(), tf_output, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state.c.detach().numpy(), tf_state[0], rtol=1e-12, atol=1e-12)

    # and nn.LSTMCell takes the same state dict once the forget bias is folded in (its f block)
    reference = nn.LSTMCell(I, H)
    reference.load_state_dict(fold_forget_bias(basic_lstm_cell_to_torch(kernel, bias, input_size=I), 1.0))
    x, h0, c0 = torch.rand(B, I), torch.rand(B, H), torch.rand(B, H)
    torch.testing.assert_close(reference(x, (h0, c0))[0], cell(x, LSTMState(h0, c0))[0])


def test_seed_model_reads_images_like_the_tensorflow_program():
    """The seeds' graph: transpose/reshape/split into 28 rows, static_rnn, outputs[-1] @ W + b."""
    rng = np.random.default_rng(1)
    H, K = 12, 10
    kernel, bias = rng.normal(0, 0.3, (28 + H, 4 * H)), rng.normal(0, 0.3, 4 * H)
    out_weights, out_biases = rng.normal(0, 1, (H, K)), rng.normal(0, 1, K)
    images = rng.random((3, 784))  # input_data's flat images, pixels in [0, 1]

    x = images.reshape(-1, 28, 28).transpose(1, 0, 2).reshape(-1, 28)  # seed 001's tensor gymnastics
    inputs = np.split(x, 28)  # 28 arrays of (B, 28): row t of every image
    state = (np.zeros((3, H)), np.zeros((3, H)))
    for input_ in inputs:
        output, state = tf_basic_lstm_cell(input_, state, kernel, bias, forget_bias=1.0)
    tf_logits = output @ out_weights + out_biases

    model = seed_model(kernel, bias, out_weights, out_biases, forget_bias=1.0)
    logits = model(torch.from_numpy(images).reshape(3, 28, 28))
    np.testing.assert_allclose(logits.detach().numpy(), tf_logits, rtol=1e-12, atol=1e-12)
    assert not model.config.normalize  # the seeds fed raw pixels


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="expected kernel"):
        basic_lstm_cell_to_torch(np.zeros((44, 63)), np.zeros(63), input_size=28)
    with pytest.raises(ValueError, match="input_size \\+ H = 20 \\+ 16"):
        basic_lstm_cell_to_torch(np.zeros((44, 64)), np.zeros(64), input_size=20)


@pytest.mark.parametrize("out_weights, out_biases", [
    (np.zeros((10, 16)), np.zeros(10)),  # W_out transposed, (K, H): was read as H = 10, the kernel then refused
    (np.zeros(16), np.zeros(10)),  # a vector: was "not enough values to unpack"
    (np.zeros((16, 10)), np.zeros(9)),  # b_out of another K: was load_state_dict's size mismatch
])
def test_seed_model_names_the_output_layers_shapes_against_the_kernels_h(out_weights, out_biases):
    with pytest.raises(ValueError, match=r"expected W_out \(H, K\) and b_out \(K,\) for the kernel's H = 16, got "
                                         + re.escape(f"{out_weights.shape} and {out_biases.shape}")):
        seed_model(np.zeros((44, 64)), np.zeros(64), out_weights, out_biases)
