"""Every write of the booking app: holds.py (claiming pairs), bookings.py (confirm, cancel,
move the second dose), registrations.py (registering by phone or online)."""
