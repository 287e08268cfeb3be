"""Services of the waitingroom app (nothing yet)."""
