"""Signals for what stands in front of booking (the waiting room), which booking must not import.

`booking_confirmed` is sent inside the confirm's transaction, with `booking` and `hold`: a
receiver that raises a BookingError refuses the booking (nothing is written).
"""

from django.dispatch import Signal

booking_confirmed = Signal()
