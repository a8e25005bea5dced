"""Train the row-by-row LSTM on MNIST: ``python train.py --help``.

The program itself is lstm_mnist/commands/train.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-train`` command.
"""

import sys

from lstm_mnist.commands.train import command  # Ctrl-C while it loads: lstm_mnist/startup.py

if __name__ == "__main__":
    sys.exit(command())
