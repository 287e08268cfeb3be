"""Site-wide public pages: the landing page and the legal pages of the footer."""

from django.shortcuts import render
from django.utils import timezone

from booking.services.overview import overview_current
from centres.selectors import centres_with_day
from waitingroom.selectors import gating_release, upcoming_release


def landing(request):
    today = timezone.localdate()
    current = overview_current()  # the live overview's shared copy: no query while it is fresh
    free = {centre["code"]: centre["total"] for centre in current.for_age(None)["centres"]}
    return render(
        request,
        "pages/landing.html",
        {
            "today": today,
            "centres_today": [
                (centre, day, free.get(centre.code, 0)) for centre, day in centres_with_day(day=today)
            ],
            "free_total": sum(free.values()),
            "free_computed_at": current.computed_at,
            "release": gating_release() or upcoming_release(),
        },
    )
