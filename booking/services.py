"""Services of the booking app (nothing yet)."""
