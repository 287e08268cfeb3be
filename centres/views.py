"""Views of the centres app (nothing yet)."""
