"""Views of the booking app (nothing yet)."""
