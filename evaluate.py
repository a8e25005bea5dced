"""Evaluate a checkpoint on MNIST: ``python evaluate.py --help``.

The program itself is lstm_mnist/commands/evaluate.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-evaluate`` command.
"""

import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
if HERE not in sys.path:  # python -I or -P: the script's folder, and the package in it, are not on the path
    sys.path.insert(0, HERE)

from lstm_mnist.commands.evaluate import command  # noqa: E402  Ctrl-C while it loads: lstm_mnist/startup.py

if __name__ == "__main__":
    sys.exit(command())
