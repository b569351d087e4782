"""Soft Patch Panel with an AF_XDP data plane."""

__version__ = "0.1.0"
