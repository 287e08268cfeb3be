"""Exceptions of the booking app (nothing yet)."""
