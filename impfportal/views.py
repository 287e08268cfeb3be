"""Site-wide public pages: the landing page and the legal pages of the footer."""

from django.shortcuts import render
from django.utils import timezone

from centres.selectors import centres_with_day
from waitingroom.selectors import gating_release, upcoming_release


def landing(request):
    today = timezone.localdate()
    return render(
        request,
        "pages/landing.html",
        {
            "today": today,
            "centres_today": centres_with_day(day=today),
            "release": gating_release() or upcoming_release(),
        },
    )
