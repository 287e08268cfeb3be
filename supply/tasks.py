"""Tasks of the supply app (nothing yet)."""
