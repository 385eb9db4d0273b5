"""The ``emdenoise`` command line: main.py (parser, exit codes), images.py (info, noise, denoise,
compare, filters), models.py (families, train, resume, zoo), progress.py (terminal progress)."""

from emdenoise_gui.cli.main import main

__all__ = ["main"]
