"""Placeholder; the admin of this part follows in the next commit."""
