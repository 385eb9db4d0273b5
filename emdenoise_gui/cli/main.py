"""The ``emdenoise`` command line: headless access to everything the app does.

Exit status: 0 done, 2 bad input (one line on stderr naming the file and the
problem), 3 a model trained and written that failed its held-back check (one line
saying what to do: ``progress.drive_training``), 130 cancelled (nothing written),
1 out of memory (one line saying what to try) or an internal error (one line; the
traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import textwrap
import warnings

from emdenoise_gui import __version__
from emdenoise_gui.cli import doctor, images, models
from emdenoise_gui.cli.exits import (
    EXIT_CANCELLED,
    EXIT_INPUT,
    EXIT_INTERNAL,
    STOPPING,
    one_line,
    say,
    signals_handled,
    silence_stdout,
)
from emdenoise_gui.core.atomic import is_disk_full
from emdenoise_gui.core.errors import (
    Cancelled,
    InputError,
    out_of_memory,
    system_failure,
)
from emdenoise_gui.entry_flags import SMOKE_EPILOG

#: Options whose value is a range that may begin with a minus sign (``--slices -2:``).
RANGE_OPTIONS = ("--slices", "--dose", "--sigma")


def _joined_ranges(argv: list[str]) -> list[str]:
    """``argv`` with ``--slices -2:`` written ``--slices=-2:``: argparse takes a value that starts with a minus
    and is not a plain number for an option, and said "expected one argument"."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in RANGE_OPTIONS and arg[:1] == "-" and arg[1:2] in tuple("0123456789.:"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


class _Parser(argparse.ArgumentParser):
    """The parser of ``emdenoise`` and (argparse makes them of the same class) of its commands: an option a
    command does not know is reported by that command, not by ``emdenoise`` with the list of commands; every
    usage error is one line saying where to read the options (argparse printed a usage block of a dozen
    lines before it), exit 2."""

    def __init__(self, *args, **kwargs):
        # no shortened options: `--slice -2:` was taken for --slices but missed its range handling ("expected one
        # argument"), and a shortened name stops working once another option shares its start (CLI audit)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # noqa: D102 (argparse's)
        hint = "" if "--help" in message else f" (see `{self.prog} --help`)"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")

    def parse_args(self, args=None, namespace=None):  # noqa: D102 (argparse's)
        given = _joined_ranges(list(sys.argv[1:] if args is None else args))
        parsed, extra = self.parse_known_args(given, namespace)
        if "--debug" in extra:  # `emdenoise denoise a.tif -o b.tif --debug`: where users add it, last
            extra = [e for e in extra if e != "--debug"]
            parsed.debug = True
        listed = next((name for name in ("inputs", "images", "files")  # denoise, compare, info
                       if isinstance(getattr(parsed, name, None), list)), None)
        if extra and listed and not any(e.startswith("-") for e in extra):
            getattr(parsed, listed).extend(extra)  # `denoise a.tif --method median b.tif`: inputs between options
            extra = []
        if extra:
            name = getattr(parsed, "command", None)
            # an option before the command's name is emdenoise's own (`emdenoise --bogus info x`)
            before = given[:given.index(name)] if name in given else given
            owner = self if any(e in before for e in extra) else self.commands.get(name, self)
            owner.error(f"unrecognized arguments: {' '.join(extra)} (see `{owner.prog} --help`)")
        return parsed


#: the exit statuses, as --help states them (cli/exits.py)
EXIT_STATUSES = """
Exit status: 0 done; 1 out of memory or an internal error; 2 bad input (one line
naming the file and the problem); 3 train or resume wrote a model that does no
better on its held-back data than the noisy input, the classical filter it must
beat or, self-supervised, the mean of each hidden pixel's neighbours (one line
says so); 130 cancelled (a training run keeps a checkpoint).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emdenoise", description="Denoise electron-microscopy images and stacks (TIFF, MRC, OME-Zarr).",
        epilog=textwrap.fill(SMOKE_EPILOG.format(prog="emdenoise") + ".", 79) + "\n" + EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"emdenoise {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks of internal errors (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices

    images.add_parsers(sub)
    models.add_parsers(sub)
    doctor.add_parser(sub)
    return parser


def _cancel_on_signal(signum, _frame):
    signal.signal(signum, signal.SIG_IGN)  # a second one must not interrupt the clean-up
    raise KeyboardInterrupt(f"signal {signum}")


def _terminate_as_cancel():
    """SIGTERM (``kill``, a cluster's time limit) and SIGHUP (a closed terminal, a dropped ssh) end a run as
    Ctrl-C does: its temporary output is removed and it says so, instead of dying with a .partial file left in
    the output folder (a training run stops after its step and saves a checkpoint: ``progress.drive_training``)."""
    return signals_handled(_cancel_on_signal, *STOPPING)


@contextlib.contextmanager
def _quiet_libraries(debug: bool):
    """tifffile logs format notes as warnings, which Python prints on stderr when no handler takes them: a
    null handler takes them unless ``--debug`` (levels stay: the TIFF reader still hears of damage)."""
    logger, sink = logging.getLogger("tifffile"), logging.NullHandler()
    if not debug:
        logger.addHandler(sink)
    try:
        yield
    finally:
        logger.removeHandler(sink)


#: The commands (and zoo actions) whose whole result is what they print: refused with stdout closed. The
#: others write files (denoise, zoo export, ...) and run as they are (a scheduler may close fd 1).
PRINTING = ("info", "compare", "filters", "families", "doctor", "zoo list", "zoo show")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    if sys.stderr is None:  # `2>&-`: Python's print(file=None) writes to stdout, and the errors and notes went
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # into a report sent to a file (CLI audit)
    args = build_parser().parse_args(argv)
    command = " ".join(filter(None, (args.command, getattr(args, "zoo_command", None))))
    if sys.stdout is None and (args.command in PRINTING or command in PRINTING):  # `>&-`: it printed nothing
        say(f"emdenoise: error: {command} prints its result, but standard output is closed; send it to a file "
            "or a terminal")
        return EXIT_INPUT
    try:
        with warnings.catch_warnings(), _quiet_libraries(args.debug), _terminate_as_cancel():
            if not args.debug:  # numpy overflow, tifffile format notes: the detail is behind --debug
                warnings.simplefilter("ignore")
            return args.func(args)
    except InputError as exc:
        say(f"emdenoise: error: {one_line(str(exc))}")
        return EXIT_INPUT
    except BrokenPipeError:  # `emdenoise info ... | head`: the reader has what it wanted
        silence_stdout()
        return 0
    except (Cancelled, KeyboardInterrupt) as exc:  # a block run keeps what it finished, and says so
        say(f"\nemdenoise: cancelled; {getattr(exc, 'kept', None) or 'nothing was written'}")
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - sorted below: memory, a failing disk, else a bug
        if args.debug:
            raise
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """Say one line for an exception no command turned into an InputError, and return the exit status."""
    if out_of_memory(exc):  # not a bug to report: the data is too large for this machine's memory now
        say(f"emdenoise: error: out of memory ({one_line(str(exc)) or 'an allocation failed'}): close other "
            "programs, or give this command less at a time (a smaller --tile or --batch-size, fewer --slices, "
            "where it takes them)")
        return EXIT_INTERNAL
    failure = system_failure(exc)  # a disk or a network share failed (EIO, ESTALE): not a bug to report
    if failure is not None:
        say(f"emdenoise: error: {one_line(str(failure))}")
        return EXIT_INPUT
    if is_disk_full(exc):  # the results printed to a full disk (`> /dev/full`): not a bug to report
        say(f"emdenoise: error: the output could not be written: the disk is full ({one_line(str(exc))})")
        silence_stdout()  # Python's own flush at exit would fail on it again
        return EXIT_INPUT
    say(f"emdenoise: internal error: {type(exc).__name__}: {one_line(str(exc))} (run with --debug for details "
        "and please report it)")
    return EXIT_INTERNAL
