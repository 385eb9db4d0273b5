"""Exit statuses of the ``emdenoise`` command: 0 done, 1 an internal error, 2 bad input,
130 cancelled (nothing written)."""

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (library messages, e.g. a torch state_dict mismatch, span many), shortened."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
