"""``python -m emdenoise_gui`` runs the command-line interface."""

import sys

from emdenoise_gui.cli import main

sys.exit(main())
