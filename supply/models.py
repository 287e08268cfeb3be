"""Models of the supply app (nothing yet)."""
