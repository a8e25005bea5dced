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


class SettingError(UsageError):
    """A setting whose value cannot work (``TrainConfig.limit_train`` past the training split). The
    library names it as the field its caller set (``str(e)``: 'limit_train=1000: ...'); the programs as
    the flag their user typed (``e.in_flags``: '--limit-train 1000: ...', which ``cli.run`` prints)."""

    def __init__(self, field: str, value, problem: str):
        super().__init__(f"{field}={value!r}: {problem}")
        self.field, self.value, self.problem = field, value, problem
        self.in_flags = f"{flag_of(field)} {value}: {problem}"

    def __reduce__(self):  # pickled (to another process) or copied: made again from its parts, not its message
        return type(self), (self.field, self.value, self.problem), self.__dict__


def flag_of(field: str) -> str:
    """The programs' flag for a setting: --limit-train for limit_train (every config field's flag is so named)."""
    return "--" + field.replace("_", "-")


def in_flags(error: BaseException) -> str:
    """An error's message as the programs say it: ``in_flags`` where the library's names a setting, else ``str``."""
    return getattr(error, "in_flags", None) or str(error)
