"""Tasks of the waitingroom app (nothing yet)."""
