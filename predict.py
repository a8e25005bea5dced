"""Classify a folder of images with a trained checkpoint: ``python predict.py --help``.

The program itself is lstm_mnist/commands/predict.py; this file runs it from a clone.
Installed with ``pip install .``, the same program is the ``lstm-mnist-predict`` command.
"""

import sys

from lstm_mnist.commands.predict import command  # Ctrl-C while it loads: lstm_mnist/startup.py

if __name__ == "__main__":
    sys.exit(command())
