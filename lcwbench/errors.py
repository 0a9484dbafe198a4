"""One exception type for bad input: it carries a single line naming what is wrong and where."""

from __future__ import annotations


class LcwbenchError(Exception):
    """A user-facing error. ``str(err)`` is one line: what is wrong, where, and how to fix it.

    The CLI prints ``lcwbench: error: <message>`` and exits with status 2; no traceback.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class NonFiniteLossError(LcwbenchError):
    """A loss term became NaN or infinite during training."""
