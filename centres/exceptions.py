"""Exceptions of the centres app (nothing yet)."""
