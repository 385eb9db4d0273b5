"""The script PyInstaller freezes into both executables of the bundle (see emdenoise.spec)."""

import sys

from emdenoise_gui.launch import frozen_main

if __name__ == "__main__":
    sys.exit(frozen_main())
