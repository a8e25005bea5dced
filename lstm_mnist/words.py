"""Counts in the programs' text, singular for one: ``counted(1, "step")`` is "1 step",
``counted(3, "step")`` is "3 steps", ``counted(2, "process", "processes")`` is "2 processes"."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` followed by ``noun``, or by its plural (``plural``, else ``noun`` + "s") unless ``n`` is 1."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
