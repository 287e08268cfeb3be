"""Models of the waitingroom app (nothing yet)."""
