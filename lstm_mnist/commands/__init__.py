"""The command-line programs: ``train.py`` / ``lstm-mnist-train`` and ``evaluate.py`` /
``lstm-mnist-evaluate``. Each parses its arguments and calls the package."""
