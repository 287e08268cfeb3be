"""Selectors of the waitingroom app (nothing yet)."""
