"""Views of the supply app (nothing yet)."""
