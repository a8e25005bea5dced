"""Classify a folder of images with a trained checkpoint: ``python predict.py --help``.

The program itself is lstm_mnist/commands/predict.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-predict`` command.
"""

import sys

try:
    from lstm_mnist.commands.predict import command
except KeyboardInterrupt:  # Ctrl-C while PyTorch loads (a second or two): a line, not a traceback
    print("predict.py: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(command())
