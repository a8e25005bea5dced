"""Evaluate a checkpoint on MNIST: ``python evaluate.py --help``.

The program itself is lstm_mnist/commands/evaluate.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-evaluate`` command.
"""

import sys

try:
    from lstm_mnist.commands.evaluate import command
except KeyboardInterrupt:  # Ctrl-C while PyTorch loads (a second or two): a line, not a traceback
    print("evaluate.py: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(command())
