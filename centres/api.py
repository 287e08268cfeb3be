"""Api of the centres app (nothing yet)."""
