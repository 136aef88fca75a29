"""Output into a closed pipe ends the command quietly, as Unix tools do (``swarmreg table OUT | head -1``).

Python ignores SIGPIPE, so a write to a pipe whose reader has gone raises ``BrokenPipeError``, which
would surface as an error line. While :func:`guarded_stdout` is active such a write raises
:class:`StdoutClosed` instead; the command then exits with :data:`EXIT_STATUS`, the status a shell
reports for a tool that SIGPIPE ended (141), after pointing stdout at /dev/null so that the
interpreter's last flush has nowhere to fail (the recipe of Python's ``signal`` documentation).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

EXIT_STATUS = 128 + signal.SIGPIPE


class StdoutClosed(Exception):
    """The reader of standard output went away."""


class _Guard:
    """``stream`` whose writes and flushes turn ``BrokenPipeError`` into :class:`StdoutClosed`."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise StdoutClosed from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise StdoutClosed from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Guard ``sys.stdout`` (see the module docstring), flushing it on the way out."""
    stream = sys.stdout
    sys.stdout = _Guard(stream)  # type: ignore[assignment]
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = stream


def closed_pipe_exit() -> int:
    """Point stdout's file descriptor at /dev/null and return :data:`EXIT_STATUS`."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # a captured stream has no descriptor
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_STATUS
