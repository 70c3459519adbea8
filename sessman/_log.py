"""The library's notes for people: logged, never printed.

A library leaves output to the application (as httpx and structlog do):
each module logs on its own logger (``sessman.<module>``), and the
``sessman`` logger gets a :class:`logging.NullHandler`, so a program that
configures no logging sees nothing, not even WARNING records (Python's
last-resort handler would print those on stderr). The command line installs
the handler that shows them (:func:`sessman.cli.render.show_library_notes`).

Levels: INFO for what happened (a server is listening, credentials were
renewed), WARNING for what went wrong and was coped with (a damaged state
file, a failed renewal), ERROR for a failure inside a running server.
"""

from __future__ import annotations

import logging

__all__ = ["get_logger", "log_note"]

logging.getLogger("sessman").addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """The logger of module ``name`` (``__name__``), below the ``sessman`` logger."""
    return logging.getLogger(name)


def log_note(message: str) -> None:
    """The default ``note=`` of :class:`~sessman.manager.SessionManager`: a WARNING logged.

    Notes (the file keyring used for want of a system keyring, a damaged
    state file reset) go to the ``sessman.notes`` logger, never to a stream:
    a program sees them only when it configures logging; the command line
    prints them as ``sessman: note: ...``.
    """
    logging.getLogger("sessman.notes").warning("%s", message)
