"""Fixtures the benchmark tests share with the training tests."""

from tests.training.conftest import noisy_crop  # noqa: F401  (re-exported fixture)
