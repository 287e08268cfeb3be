"""Admin of the supply app: vaccines and deliveries with their upload (deliveries.py),
planning settings, runs and report (planning.py), shortfall alerts and appointments
(appointments.py), and what they share (common.py)."""

from supply.admin import appointments, deliveries, planning  # noqa: F401  (registers the model admins)
