"""Exceptions of the supply app (nothing yet)."""
