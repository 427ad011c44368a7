"""Masthead: signals in, checked and reviewed content out, every step on an append-only log."""

__version__ = "0.1.0"
