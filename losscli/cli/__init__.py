"""Command-line interface: a thin layer that parses, calls the library and renders."""

from .app import app, main

__all__ = ["app", "main"]
