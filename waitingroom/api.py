"""Api of the waitingroom app (nothing yet)."""
