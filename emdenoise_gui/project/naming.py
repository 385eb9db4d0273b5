"""Result file names: the user's pattern (default ``{stem}_{method}``), filename-safe, never colliding.

A pattern is text with fields in braces: ``{stem}`` (the input file's name without its
extension), ``{method}`` (the filter or model name) and ``{date}`` (the day the result was
made, YYYY-MM-DD). The rendered name keeps letters and digits of any script (中文.tif gives
中文_median.tif; all systems we ship for take them), dots, dashes and underscores; anything else
(spaces, slashes, the characters Windows refuses, emoji) becomes ``_``. When a name is already used
(a file on disk, or a result the project records whose file has gone), ``_2``, ``_3``, ... is added:
nothing is ever overwritten.
"""

from __future__ import annotations

import datetime as _dt
import re
import string
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.paths import file_name_part

DEFAULT_PATTERN = "{stem}_{method}"
#: The fields a name pattern may use, and what each stands for (the Settings tooltip shows these).
NAME_FIELDS = {
    "stem": "the input file's name without its extension",
    "method": "the filter or model name",
    "date": "the day the result was made, YYYY-MM-DD",
}
#: The longest name a pattern renders to (before ``_N`` and the extension), in characters and in UTF-8 bytes
#: (file systems count bytes, 255 a name: 80 letters of 4 bytes each made a name too long for any of them, an
#: internal error; project audit of 2026-12-07).
MAX_CHARS, MAX_BYTES = 80, 160


def safe(text: str, fallback: str, limit: int = 60) -> str:
    """``text`` reduced to filename-safe characters (Unicode letters and digits, ``.``, ``_``, ``-``; in the
    composed form, so an accent typed apart stays on its letter), at most ``limit`` of them. Names that
    kept only ASCII lost every character of 中文.tif and 日本.tif: their results were stack_median and
    stack_median_2, not to be told apart. A longer text loses its middle (joined by ``-``), not its end:
    acquisition names differ at their end (..._stack01, ..._stack02), which a cut end made alike. At most
    :data:`MAX_BYTES` bytes in UTF-8 too."""
    whole = re.sub(r"_{2,}", "_", file_name_part(text, "_")).strip("._-")
    text = whole
    while len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        limit = min(limit, len(text) - 1)
        tail = limit // 3
        text = whole[:limit - tail - 1].rstrip("._-") + "-" + whole[-tail:].lstrip("._-")
    return text or fallback


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a usable name pattern, else InputError saying which fields exist."""
    allowed = ", ".join("{" + name + "}" for name in NAME_FIELDS)
    if not pattern.strip():
        raise InputError(f"the name pattern is empty; use e.g. {DEFAULT_PATTERN} (fields: {allowed})")
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise InputError(f"the name pattern '{pattern}' has an unmatched brace ({exc}); "
                         f"use fields like {allowed}") from None
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in NAME_FIELDS:
            raise InputError(f"the name pattern '{pattern}' uses {{{name}}}, which is not a field; "
                             f"use {allowed}")
        if spec or conversion:  # '{stem!r}' was said to use "{stem}, which is not a field" (CLI audit)
            written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise InputError(f"the name pattern '{pattern}' writes {written}: fields take no format or conversion; "
                             f"write {{{name}}}")
    return pattern


def check_suffix(suffix: str) -> str:
    """``suffix`` with its leading dot (``"mrc"`` -> ``".mrc"``), or InputError if it is not an extension."""
    suffix = suffix if suffix.startswith(".") else "." + suffix
    if not re.fullmatch(r"(\.[A-Za-z0-9]+)+", suffix):
        raise InputError(f"'{suffix}' is not a file extension; use e.g. .tif or .mrc")
    return suffix


def render(pattern: str, stem: str, method: str, day: _dt.date | None = None) -> str:
    """The pattern filled in and made filename-safe (``"result"`` if nothing usable is left), at most
    :data:`MAX_CHARS` long: the stem is shortened (in its middle) to what the rest leaves room for, so the
    method and the date are never cut (a long stem and ``{date}`` cut flyem-nrrn-lite and flyem-nrrn-base
    both to "flyem-nr")."""
    day = day or _dt.date.today()
    fields = {"method": safe(method, "result"), "date": day.isoformat()}
    rest = len(check_pattern(pattern).format(stem="", **fields))
    text = pattern.format(stem=safe(stem, "stack", max(12, min(60, MAX_CHARS - rest))), **fields)
    return safe(text, "result", MAX_CHARS)


def fresh_path(folder: Path, name: str, suffix: str, taken: set[str] = frozenset()) -> Path:
    """``folder/name+suffix``, or with ``_2``, ``_3``, ... added, the first that is neither on disk nor
    in ``taken`` (file names, compared without regard to case)."""
    suffix = check_suffix(suffix)
    used = {t.lower() for t in taken}
    n = 1
    while True:
        candidate = folder / (f"{name}{suffix}" if n == 1 else f"{name}_{n}{suffix}")
        if candidate.name.lower() not in used and not candidate.exists():
            return candidate
        n += 1
