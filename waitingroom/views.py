"""Views of the waitingroom app (nothing yet)."""
