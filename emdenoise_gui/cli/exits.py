"""Exit statuses of the ``emdenoise`` command: 0 done, 1 an internal error, 2 bad input,
130 cancelled (nothing written)."""

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
