"""The one exception type for mistakes a user can make (bad files, flags, shapes, values).

The CLI turns it into a one-line message on stderr and exit code 2; everything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """A problem the user can fix: the message names the bad value and what would be valid."""


class NonFiniteError(RuntimeError):
    """Training produced NaN or inf; the last good checkpoint is left as it was."""
