"""Models of the booking app (nothing yet)."""
