"""Tasks of the booking app: they take primary keys and call one function."""

from booking.emails import booking_confirmation_send as _send


def booking_confirmation_send(booking_id: int) -> None:
    _send(booking_id=booking_id)
