"""Memory bounds: estimate what a request needs before allocating it, and refuse what would not fit with one line
that says how much it needs and how to ask for less."""

from __future__ import annotations

import os

from mnistgan.errors import UserError
from mnistgan.files import human_bytes

FRACTION = 0.8  # of the memory the OS reports available: the rest is for the interpreter, torch and the OS


def available_bytes() -> int | None:
    """Memory available to a new allocation (Linux: MemAvailable), or None where the OS does not say."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(nbytes: int, what: str, lower: str) -> None:
    """Raise UserError if `what` needs more than FRACTION of the available memory; `lower` says how to ask less."""
    available = available_bytes()
    if available is not None and nbytes > FRACTION * available:
        raise UserError(
            f"{what} would need about {human_bytes(nbytes)} of memory, more than the {human_bytes(available)} "
            f"available; {lower}"
        )
