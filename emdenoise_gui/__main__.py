"""``python -m emdenoise_gui`` runs the command-line interface (as the ``emdenoise`` executable does)."""

import sys

from emdenoise_gui.launch import cli

sys.exit(cli())
