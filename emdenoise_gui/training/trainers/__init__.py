"""One trainer per model family (nrrn.py trains NRRN, ...) on the shared machinery of base.py.

Which trainer a family uses is written in the family catalogue, ``models.registry``;
:func:`trainer_class` looks it up.
"""

from __future__ import annotations

import importlib


def trainer_class(family: str) -> type:
    """The trainer class of ``family`` (InputError for an unknown family); imports torch."""
    from emdenoise_gui.models.registry import family as family_info

    module, _, name = family_info(family).trainer.partition(":")
    return getattr(importlib.import_module(module), name)
