"""The CLI's terminal progress: a bar with rate and ETA for Progress events, printed lines for training.

Nothing is shown for jobs that finish within a second. On a terminal the bar
redraws in place (at most 10 times a second); in a log file (CI, nohup) a
line is printed at most every 10 seconds. A job's stages before it can count
(``core.events.Stage``: "loading model", "first tile") show in place of the bar on a
terminal, until the bar replaces them (or the job ends: then they are erased); a log
file gets no stage lines.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, TextIO

from emdenoise_gui.cli.exits import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_UNUSABLE,
    STOPPING,
    say,
    signals_handled,
)
from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import Cancelled
from emdenoise_gui.core.events import CancelToken, Progress, RateMeter, format_seconds

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
        self._width = 0  # characters of the stage text on the terminal's line (0: none)

    def update(self, event) -> None:
        """Draw a Progress event; show a Stage on a terminal; print a Message on its own line; ignore any
        other event."""
        if isinstance(event, ev.Stage):
            self._show_stage(event.text)
            return
        if isinstance(event, ev.Message):
            if self._shown or self._width:  # a stage shown on a terminal is erased, not written after
                self.finish()
            self.stream.write(f"emdenoise: note: {event.text}\n")
            self.stream.flush()
            return
        if not isinstance(event, Progress):
            return
        if self.meter is None or event.stage != self._stage or event.total != self.meter.total:
            if self._shown:
                self.finish()
            self.meter, self._stage = RateMeter(event.total, base=event.done), event.stage
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
        self.stream.write(("\r" + line.ljust(self._width)) if self.tty else line + "\n")
        self.stream.flush()
        self._shown, self._width = True, 0

    def _show_stage(self, text: str) -> None:
        if not self.tty:
            return
        if self._shown:  # a finished bar keeps its line
            self.finish()
        line = f"{text}…"
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def finish(self) -> None:
        if self.tty and (self._shown or self._width):
            self.stream.write("\n" if self._shown else "\r" + " " * self._width + "\r")  # a stage is erased
            self.stream.flush()
        self._shown, self._width = False, 0
        self.meter = None

    def drain(self, events: Iterable[object]) -> None:
        """Show every event of a job, then end the line."""
        for event in events:
            self.update(event)
        self.finish()


def run_with_bar(gen):
    """Drain a job generator through a progress bar and return its value."""
    bar = ProgressBar()
    try:
        while True:
            bar.update(next(gen))
    except StopIteration as stop:
        return stop.value
    finally:
        bar.finish()


class TrainPrinter:
    """Prints training events: a loss line about every 2 seconds, validations, checkpoints."""

    def __init__(self, stream=None, every_s: float = 2.0):
        self.stream, self.every_s, self._time, self._last = stream or sys.stderr, every_s, time.perf_counter, 0.0
        self.finished = None
        self.checkpoint: ev.CheckpointSaved | None = None  # the last one saved

    def __call__(self, event) -> None:
        write = lambda text: say(text, self.stream)  # noqa: E731 - a closed terminal must not stop the run
        if isinstance(event, ev.Started):
            write(f"training {event.family} ({event.config}, {event.parameters / 1e6:.3f} M parameters) on "
                  f"{event.device}, steps {event.first_step}..{event.total_steps}")
        elif isinstance(event, ev.StepDone):
            now = self._time()
            if now - self._last >= self.every_s or event.step == event.total_steps:
                self._last = now
                loss = event.losses.get("loss", next(iter(event.losses.values())))
                write(f"step {event.step}/{event.total_steps}  loss {loss:.5g}  lr {event.lr:.3g}  "
                      f"{event.steps_per_s:.2f} steps/s  ETA {format_seconds(event.eta_s)}")
        elif isinstance(event, ev.Validated):
            write(f"  validation at step {event.step}: " + ", ".join(f"{k} {v:.5g}" for k, v in event.metrics.items()))
        elif isinstance(event, ev.CheckpointSaved):
            self.checkpoint = event
            write(f"  checkpoint saved: {event.path}")
        elif isinstance(event, ev.Stage):
            write(f"  {event.text}")
        elif isinstance(event, ev.Finished):
            self.finished = event


def drive_training(events) -> int:
    """Run a training job ``events(token)``, printing its events; returns the exit status: 0 done, 3 done but
    the model failed its held-back check (said on stderr: :func:`_failed_its_check`), 130 stopped with a
    checkpoint. The first Ctrl-C (or SIGTERM: ``kill``, a cluster's time limit; SIGHUP: a closed terminal)
    sets the cancel token: the run stops after the current step and saves a checkpoint. A second one aborts
    at once, naming the last checkpoint saved, which resume continues."""
    printer = TrainPrinter()
    token = CancelToken()

    def on_interrupt(signum, frame):
        if token.cancelled:
            stop = KeyboardInterrupt()
            if printer.checkpoint is not None:
                stop.kept = (f"the checkpoint of step {printer.checkpoint.step} is kept; resume it with: "
                             f"emdenoise resume {printer.checkpoint.path}")
            raise stop
        token.cancel()
        say("\nstopping after this step and saving a checkpoint (Ctrl-C again to abort)")

    with signals_handled(on_interrupt, "SIGINT", *STOPPING):
        for event in events(token):
            printer(event)
    done = printer.finished
    if done is None:
        raise Cancelled("training stopped")
    if done.cancelled:
        print(f"stopped at step {done.step}; checkpoint saved. Resume with:\n  emdenoise resume {done.checkpoint}",
              file=sys.stderr)
        return EXIT_CANCELLED
    print(f"wrote model package {done.package}")
    return EXIT_UNUSABLE if _failed_its_check(done.package) else EXIT_OK


def _failed_its_check(package: str) -> bool:
    """Whether the new model at ``package`` failed its held-back check (``zoo.fit.validation_failure`` of its
    card's metrics: no better than the noisy input, the classical filter it is measured against
    (``zoo.card.bar_filter``), or, self-supervised, the mean of each hidden pixel's neighbours or the SURE-tuned
    Gaussian by Stein's estimate), said in one
    line on stderr. Such a run ended with exit 0 and a note: a script went on to denoise with a model the zoo
    grades a poor fit for every stack."""
    from emdenoise_gui.zoo.card import bar_filter
    from emdenoise_gui.zoo.fit import failure_words, validation_failure, was_checked
    from emdenoise_gui.zoo.package import open_package

    try:
        card = open_package(package).card
    except Exception as exc:  # noqa: BLE001 - just written and checked, then changed or gone: no verdict
        say(f"emdenoise: warning: the new model's card could not be read again ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}): its held-back check is unknown; look at {package}")
        return True
    failure = validation_failure(card.metrics)
    if failure is None and not was_checked(card.metrics):  # the unpaired cyclic GAN: no clean reference
        say("emdenoise: note: this model could not be checked against a clean reference or a filter (its noisy "
            "data have no clean counterpart): compare its result with a filter's on your data (emdenoise compare, "
            "or side by side in the app) before you rely on it")
        return False
    if failure is None:
        return False
    which, value, bar = failure
    name, label = bar_filter(card.family)
    init = "" if card.training.get("init_from") else ", or from a shipped model (--init)"  # not for a fine-tune
    again = f"train longer, with more data{init}"
    if which == "neighbours":
        again = f"train longer{' with a lower --lr' if value > 10 * bar else ''}{init}"
    elif which == "filter":
        again += f", or use the filter (--method {name})"
    elif which == "estimate":
        again += ", or use the filter (--method gaussian-sure, or gaussian-sure-avg for FIB-SEM-like stacks)"
    what = failure_words(failure, f'"{label}"')
    validated = str(card.training.get("validation", ""))
    where = ("held-back data" if validated.startswith("held-back")
             else "its training data" if validated.startswith("the training data itself (too few")
             else "its validation data, partly its training data")
    say(f"emdenoise: warning: on {where} this model {what}: do not use it as it is; {again}")
    return True
