"""Exceptions of the waitingroom app (nothing yet)."""
