"""Watch a trained model read one digit, row by row: ``python inspect_digit.py --help``.

The program itself is lstm_mnist/commands/inspect_digit.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-inspect`` command.
"""

import sys

try:
    from lstm_mnist.commands.inspect_digit import command
except KeyboardInterrupt:  # Ctrl-C while PyTorch loads (a second or two): a line, not a traceback
    print("inspect_digit.py: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(command())
