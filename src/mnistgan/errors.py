"""The one exception type for mistakes a user can make (bad files, flags, shapes, values).

The CLI turns it into a one-line message on stderr and exit code 2; everything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """A problem the user can fix: the message names the bad value and what would be valid."""


class NonFiniteError(RuntimeError):
    """Training produced NaN or inf; the last good checkpoint is left as it was."""


class Interrupted(Exception):
    """Training stopped by SIGINT or SIGTERM at a step boundary, after saving a checkpoint (exit 128 + signum)."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


def warn(message: str) -> None:
    """One line on stderr for something the user should know that does not stop the command."""
    import sys

    print(f"mnistgan: warning: {message}", file=sys.stderr)
