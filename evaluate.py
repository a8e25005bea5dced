"""Evaluate a checkpoint on MNIST: ``python evaluate.py --help``.

The program itself is lstm_mnist/commands/evaluate.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-evaluate`` command.
"""

import sys

from lstm_mnist.commands.evaluate import command

if __name__ == "__main__":
    sys.exit(command())
