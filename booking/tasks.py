"""Tasks of the booking app (nothing yet)."""
