"""lstm-mnist: a hand-written LSTM reads an MNIST digit one row at a time.

    cell.py        LSTMCell and LSTMState: the equations, line by line
    rnn_cell.py    RNNCell, gru_cell.py GRUCell: the same style, to compare the LSTM with
    model.py       RecurrentClassifier (= LSTMClassifier), ModelConfig: the one loop over the rows, the head
    bptt.py        the backward through time by hand: the whole sequence as one autograd node
    allocator.py   glibc keeps freed memory: no fresh pages for the fast path's temporaries
    trace.py       trace(): every intermediate tensor of one digit read row by row
    gradients.py   gradient_per_row(): how much of the loss gradient reaches each row
    figures.py     the figures: training curves, confusion matrix, mistakes, trace, gradients
    images.py      your own digit images brought to MNIST's form
    from_tensorflow.py  TensorFlow BasicLSTMCell weights in this layout
    data.py        reading, checking and splitting the MNIST IDX files; shuffled batches
    config.py      TrainConfig: how to train
    training.py    train(), fit, train_epoch, train_step: the training loop (nothing LSTM-specific)
    reporting.py   Reporter: progress bar, metric records, TensorBoard
    evaluation.py  accuracy, per-class accuracy and the confusion matrix
    checkpoint.py  a checkpoint's whole life: made, saved, loaded safely, checked, restored
    files.py       atomic writes, stale temporaries, one run per checkpoint
    cli.py         what the commands share: argument types, devices, errors, their names
    errors.py      the errors reported as one line instead of a traceback
    commands/      the programs train.py, evaluate.py, predict.py, inspect_digit.py (lstm-mnist-train, ...)
    distributed.py data-parallel training under torchrun
    cuda_graph.py  train.py --cuda-graphs: the training step recorded once as a CUDA graph, replayed
    presets.py     the seed tutorials' configurations and the best one found
    reference.py   the same model on nn.LSTM / nn.LSTMCell, to check and to time against
    bench.py       the benchmark: python -m lstm_mnist.bench
    web.py         the static page that steps through the cell in a browser: python -m lstm_mnist.web
    startup.py     before PyTorch loads: Ctrl-C while a program starts (one line, exit 130), and an
                   environment it could not load in or would misread (one line, exit 1)
    products.py    the fast path's matrix products: MKL or oneDNN, chosen from the processor
    words.py       counted(): "1 step", "3 steps" in the programs' text
"""

__version__ = "0.3.0"

from . import startup  # noqa: E402  (the standard library only)

startup.guard()  # before PyTorch loads: Ctrl-C in one of the programs is one line and exit 130 (see startup.py)
startup.check_environment()  # a deleted current folder, a missing package, OMP_NUM_THREADS=abc: one line, exit 1

from .cell import LSTMCell, LSTMState  # noqa: E402
from .gru_cell import GRUCell  # noqa: E402
from .model import LSTMClassifier, ModelConfig, RecurrentClassifier  # noqa: E402
from .rnn_cell import RNNCell  # noqa: E402

__all__ = ["GRUCell", "LSTMCell", "LSTMClassifier", "LSTMState", "ModelConfig", "RNNCell", "RecurrentClassifier",
           "__version__"]
