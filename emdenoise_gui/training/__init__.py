"""One training engine for every model family: typed events out, a cancel token in."""
