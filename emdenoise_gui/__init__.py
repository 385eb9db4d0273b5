"""EMDenoise: denoising of electron-microscopy images and stacks."""

__version__ = "0.1.0"
