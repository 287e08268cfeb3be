"""Admin of the supply app: vaccines and deliveries with their upload (deliveries.py),
planning runs, report and shortfall alerts (planning.py)."""

from supply.admin import deliveries, planning  # noqa: F401  (registers the model admins)
