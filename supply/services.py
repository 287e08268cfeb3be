"""Services of the supply app (nothing yet)."""
