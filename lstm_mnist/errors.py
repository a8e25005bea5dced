"""The errors the command-line tools report as one line instead of a traceback."""


class LSTMMnistError(Exception):
    """A problem the user can fix (bad data, a bad checkpoint, an unusable device).

    The message is complete: it names what is wrong and, where possible, what to do.
    """


class DataError(LSTMMnistError):
    """The MNIST files are missing, unreadable or not what they claim to be."""


class CheckpointError(LSTMMnistError):
    """A checkpoint is missing, unreadable, unsafe or of another model."""


class UsageError(ValueError):
    """A command line that cannot work (flags that contradict each other or the checkpoint, an
    output path that cannot be written): reported like argparse's errors, exit status 2."""
