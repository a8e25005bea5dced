"""Evaluate a checkpoint on MNIST: ``python evaluate.py --help``.

The program itself is lstm_mnist/commands/evaluate.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-evaluate`` command.
"""

import sys

from lstm_mnist.commands.evaluate import command  # Ctrl-C while it loads: lstm_mnist/startup.py

if __name__ == "__main__":
    sys.exit(command())
