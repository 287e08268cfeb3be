"""Tasks of the centres app (nothing yet)."""
