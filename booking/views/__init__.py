"""The public booking pages: eligibility -> centre -> day and time -> held pair -> personal data
-> summary and confirm -> confirmation (flow.py); "Termin verwalten" and online registration
(manage.py); what they share (common.py).

Every page works without JavaScript (POST-redirect-GET, CSRF on every form). The state between
steps is the session's: the eligibility answers, the postcode, the hold's token (the hold's
owner is the session key) and the personal data. Views parse, call one selector or service and
turn a BookingError into its message; a tampered or stale form gets a page that says what to do.
"""

from booking.views.flow import (
    centre_days,
    centre_times,
    centres,
    confirmation,
    details,
    hold,
    hold_extend_view,
    hold_release_view,
    hold_second,
    start,
    summary,
)
from booking.views.manage import manage, manage_booking, manage_cancel, manage_move, register, registered
from booking.views.overview import overview

__all__ = [
    "centre_days",
    "centre_times",
    "centres",
    "confirmation",
    "details",
    "hold",
    "hold_extend_view",
    "hold_release_view",
    "hold_second",
    "manage",
    "manage_booking",
    "manage_cancel",
    "manage_move",
    "overview",
    "register",
    "registered",
    "start",
    "summary",
]
