"""Headless core: numpy, tifffile and mrcfile only. Never imports torch or Qt."""
