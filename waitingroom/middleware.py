"""The gate in front of the booking pages (DESIGN invariant 9).

While a release is in pre-queue or open, the booking steps after the eligibility check answer
only requests with a valid admission (a signed, unexpired cookie); everyone else is sent to the
waiting room. The check reads no database. The holds made under an admission belong to it, so
copies of one admission cookie share one hold at a time, and its one booking spends it.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from waitingroom.selectors import gating_release
from waitingroom.tokens import ADMISSION_COOKIE, admission_read

# The booking steps that hold or book (booking/urls.py); the eligibility check, the confirmation
# page, managing a booking and registering stay open to everyone.
GATED = {
    "centres",
    "centre",
    "times",
    "hold",
    "hold_extend",
    "hold_second",
    "hold_release",
    "details",
    "summary",
}


class AdmissionGate:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.namespace != "booking":
            return None
        genuine = admission_read(request.COOKIES.get(ADMISSION_COOKIE))
        if genuine is not None:
            # Its holds stay its own after it has run out too (the confirmation page, a reload).
            request.hold_owner = genuine.owner
        if match.url_name not in GATED or gating_release() is None:
            return None
        if genuine is not None and genuine.until > timezone.now():
            return None
        messages.info(
            request,
            _(
                "Gerade werden neue Termine freigegeben. Bitte stellen Sie sich im Warteraum an, "
                "damit es gerecht zugeht."
            ),
        )
        return redirect("waitingroom:room")
