"""Tiled prediction with model packages on CPU, CUDA or MPS."""
