"""Admin of the waitingroom app (nothing yet)."""
