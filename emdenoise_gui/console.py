"""Terminal progress bar with rate and ETA for the CLI, fed by core Progress events.

Nothing is shown for jobs that finish within a second. On a terminal the bar
redraws in place (at most 10 times a second); in a log file (CI, nohup) a
line is printed at most every 10 seconds.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, TextIO

from emdenoise_gui.core.progress import Progress, RateMeter, format_seconds

SHOW_AFTER_S = 1.0
WIDTH = 28


class ProgressBar:
    """Draws ``Progress`` events: ``denoise |#####-----| 42% 120/288 tile 3.1/s ETA 0:54``."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.meter: RateMeter | None = None
        self._last_draw = 0.0
        self._shown = False
        self._stage = None
        self._last_event = None

    def update(self, event: Progress) -> None:
        if self.meter is None or event.stage != self._stage or event.total != self.meter.total:
            self.finish()
            self.meter, self._stage = RateMeter(event.total), event.stage
        now = time.perf_counter()
        interval = 0.1 if self.tty else 10.0
        if self.meter.elapsed() < SHOW_AFTER_S or (now - self._last_draw < interval and event.done < event.total):
            return
        if (event.done, event.total) == self._last_event:
            return
        self._last_draw, self._last_event = now, (event.done, event.total)
        frac = event.done / event.total if event.total else 1.0
        filled = int(round(WIDTH * frac))
        line = (
            f"{event.stage} |{'#' * filled}{'-' * (WIDTH - filled)}| {frac:4.0%} "
            f"{event.done}/{event.total} {event.unit} {self.meter.rate(event.done):.1f}/s "
            f"ETA {format_seconds(self.meter.eta(event.done))}"
        )
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self._shown = False
        self.meter = None

    def drain(self, events: Iterable[Progress]) -> None:
        """Show every event of a job, then end the line."""
        for event in events:
            if isinstance(event, Progress):
                self.update(event)
        self.finish()
