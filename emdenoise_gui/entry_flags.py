"""The smoke-test flags both executables take before any parser (``launch``) and name in their help.

A module of its own, importing nothing, so that the command line and the app can name them without
importing each other (the layers in pyproject.toml).
"""

SMOKE_FLAG, SCREENSHOT_FLAG = "--smoke-test", "--smoke-test-screenshot"
#: Both executables' help ends with this.
SMOKE_EPILOG = (f"{{prog}} {SMOKE_FLAG} [{SCREENSHOT_FLAG} FILE]: check this installation (load a shipped "
                "model, denoise the demo, render the window offscreen), print the timings and exit")
