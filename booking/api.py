"""Api of the booking app (nothing yet)."""
