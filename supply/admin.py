"""Admin of the supply app (nothing yet)."""
