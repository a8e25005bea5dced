"""The command-line programs: ``train.py``, ``evaluate.py``, ``predict.py`` and ``inspect_digit.py``
(installed: ``lstm-mnist-train``, ``-evaluate``, ``-predict``, ``-inspect``). Each parses its
arguments, resolves them into the package's settings, calls the package and reports."""
