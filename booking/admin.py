"""Admin of the booking app (nothing yet)."""
