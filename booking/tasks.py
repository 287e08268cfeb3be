"""Tasks of the booking app: they take primary keys and call one function."""

from booking.emails import booking_confirmation_send as _send
from booking.services.holds import holds_purge as _purge


def booking_confirmation_send(booking_id: int) -> None:
    _send(booking_id=booking_id)


def holds_purge() -> int:
    """Scheduled hourly (migration booking 0003)."""
    return _purge()
