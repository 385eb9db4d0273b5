"""Image files in and out: one module per format (tiff.py, mrc.py, omezarr.py), the FORMATS registry
(formats.py), the lazy Stack every reader returns (stack.py) and the atomic writer (writer.py).

Import from here: ``from emdenoise_gui.core.io import open_stack, StackWriter``.
"""

from emdenoise_gui.core.io.formats import (
    FORMATS,
    READ_SUFFIXES,
    SUPPORTED,
    Format,
    check_output,
    image_stem,
    open_stack,
    output_format,
    result_suffix,
)
from emdenoise_gui.core.io.stack import Stack, StackMeta
from emdenoise_gui.core.io.writer import StackWriter, cast_to

__all__ = ["FORMATS", "READ_SUFFIXES", "SUPPORTED", "Format", "Stack", "StackMeta", "StackWriter", "cast_to",
           "check_output", "image_stem", "open_stack", "output_format", "result_suffix"]
