"""Train the row-by-row LSTM on MNIST: ``python train.py --help``.

The program itself is lstm_mnist/commands/train.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-train`` command.
"""

import sys

try:
    from lstm_mnist.commands.train import command
except KeyboardInterrupt:  # Ctrl-C while PyTorch loads (a second or two): a line, not a traceback
    print("train.py: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(command())
