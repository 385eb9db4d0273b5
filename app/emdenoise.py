"""Launcher for the desktop app (also the script an installer freezes).

``python app/emdenoise.py [--demo]`` starts the GUI; ``python app/emdenoise.py cli ...``
runs the command line instead.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":
    if sys.argv[1:2] == ["cli"]:
        from emdenoise_gui.cli import main as cli_main

        sys.exit(cli_main(sys.argv[2:]))
    from emdenoise_gui.gui.app import main as gui_main

    sys.exit(gui_main())
