"""Selectors of the supply app (nothing yet)."""
