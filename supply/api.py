"""Api of the supply app (nothing yet)."""
