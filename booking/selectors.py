"""Selectors of the booking app (nothing yet)."""
