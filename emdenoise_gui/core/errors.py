"""Errors a user can act on.

Every problem with a user's file or request is raised as :class:`InputError`
whose message names the file and says what is wrong and what to do. The CLI
prints it as one line and exits with status 2; the GUI shows it in a dialog.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with user input: a file, a path or a parameter.

    Parameters
    ----------
    message:
        What is wrong and what to do about it, as one sentence.
    path:
        The file concerned, if any; it is prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class Cancelled(Exception):
    """Raised inside a long job when its :class:`~emdenoise_gui.core.events.CancelToken` is set."""
