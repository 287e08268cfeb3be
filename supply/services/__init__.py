"""Writes of the supply app: uploads of deliveries (uploads.py) and planning runs (planning.py)."""
