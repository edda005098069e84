"""Stop training cleanly on Ctrl-C (SIGINT) or a scheduler's SIGTERM: the signal only sets a flag, and the loop
saves a checkpoint at the next step boundary and stops, so an interrupted run loses nothing and resumes exactly."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class StopSignals:
    """`with StopSignals() as stop:` ... `if stop.signum: ...`. Outside the main thread it changes nothing
    (signals reach only the main thread); a second signal while stopping restores the default and re-raises."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # asked twice: stop now, the old way
            self.__exit__()
            signal.raise_signal(signum)
            return
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
