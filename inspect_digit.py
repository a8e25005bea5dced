"""Watch a trained model read one digit, row by row: ``python inspect_digit.py --help``.

The program itself is lstm_mnist/commands/inspect_digit.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-inspect`` command.
"""

import sys

from lstm_mnist.commands.inspect_digit import command  # Ctrl-C while it loads: lstm_mnist/startup.py

if __name__ == "__main__":
    sys.exit(command())
