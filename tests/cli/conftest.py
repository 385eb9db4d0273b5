"""Fixtures the CLI's model tests share with the training tests (defined in tests/training/conftest.py)."""

from tests.training.conftest import noise_patches, noisy_crop, one_thread  # noqa: F401  (re-exported fixtures)
