"""What the booking pages share: session state, the flow's checks, problem pages, time buttons."""

from collections import defaultdict
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.exceptions import BookingError, HoldNotFound
from booking.forms import (
    time_value,
)
from booking.models import Hold
from booking.selectors import (
    eligibility,
    hold_get,
    second_dose_bounds,
    second_dose_options,
)
from booking.services.bookings import PersonData
from supply.models import Vaccine

FLOW = "booking"  # session key of the booking flow's state
MANAGE = "manage"  # session key of the booking looked up under "Termin verwalten"
REGISTERED = "registered"  # session key of the code of the last online registration


# --- Helpers ------------------------------------------------------------------------------


def problem(request, message, *, status=409, link=None, link_text=None):
    """A page that says what went wrong and where to go on, instead of an error page."""
    return render(
        request,
        "booking/problem.html",
        {
            "message": message,
            "link": link or reverse("booking:start"),
            "link_text": link_text or _("Termin neu wählen"),
        },
        status=status,
    )


def form_page(request, template, context, *forms):
    """A page with forms: status 400 and "Fehler:" in the title while any form has errors."""
    has_errors = any(form.errors for form in forms)
    return render(request, template, context | {"has_errors": has_errors}, status=400 if has_errors else 200)


def owner(request) -> str:
    """Who this browser's holds belong to: what a gate in front of booking named (the waiting
    room's admission, so that copies of one admission share one hold), else the session key
    (the session is created if need be)."""
    if getattr(request, "hold_owner", None):
        return request.hold_owner
    if request.session.session_key is None:
        request.session.save()
    return request.session.session_key


def flow_required(view):
    """The booking steps after the eligibility check need its answers in the session."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        flow = request.session.get(FLOW)
        if not flow:
            messages.info(request, _("Bitte beginnen Sie mit der Prüfung, ob Sie schon buchen können."))
            return redirect("booking:start")
        return view(request, flow, *args, **kwargs)

    return wrapper


def save_flow(request, flow: dict) -> None:
    request.session[FLOW] = flow
    request.session.modified = True


def flow_eligibility(flow: dict):
    return eligibility(birth_date=date.fromisoformat(flow["birth_date"]), declared_group=flow["group"])


def my_hold(request, flow: dict, token: str | None = None) -> Hold:
    """The hold of this session's flow; a token posted from another tab or page must be it.
    Raises HoldNotFound for a missing, foreign or tampered token."""
    if not flow.get("token") or (token is not None and token != flow["token"]):
        raise HoldNotFound()
    try:
        hold = hold_get(token=flow["token"])
    except (ValueError, BookingError):
        raise HoldNotFound() from None
    if hold.owner != owner(request):
        raise HoldNotFound()
    return hold


def remaining(hold: Hold) -> int:
    """Seconds the hold has left, for the countdown (the page also states the end time)."""
    return max(0, int((hold.expires_at - timezone.now()).total_seconds()))


def is_live(hold: Hold) -> bool:
    return hold.booking_id is None and hold.released_at is None and hold.expires_at > timezone.now()


def vaccine_explanation(vaccine: Vaccine) -> str:
    if not vaccine.two_doses:
        return _("%(name)s: Eine Impfung genügt, Sie brauchen keinen zweiten Termin.") % {
            "name": vaccine.name
        }
    return _(
        "%(name)s: Sie brauchen zwei Impfungen. Die zweite Impfung ist %(low)s bis %(high)s Tage "
        "(etwa %(low_weeks)s bis %(high_weeks)s Wochen) nach der ersten; den zweiten Termin buchen "
        "wir gleich mit."
    ) % {
        "name": vaccine.name,
        "low": vaccine.interval_min_days,
        "high": vaccine.interval_max_days,
        "low_weeks": round(vaccine.interval_min_days / 7),
        "high_weeks": round(vaccine.interval_max_days / 7),
    }


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def second_dose_context(request, first, second):
    """The other second-dose times for a pair, by day; the chosen day's times (?zweittermin=)."""
    if second is None or first is None:
        return {}
    options = second_dose_options(first=first, current_second=second)
    days = defaultdict(int)
    for starts_at, count in options:
        days[timezone.localtime(starts_at).date()] += count
    chosen_day = parse_day(request.GET.get("zweittermin", ""))
    times = time_buttons(s for s, _count in options if timezone.localtime(s).date() == chosen_day)
    low, high = second_dose_bounds(first)
    return {
        "second_days": sorted(days.items()),
        "second_day": chosen_day if times else None,
        "second_times": times,
        "second_low": low,
        "second_high": high,
    }


def time_buttons(moments) -> list[tuple[str, str]]:
    """(form value, label) per time. Labelled here, not in the template: a day has up to a few
    hundred times, and a translation tag per button doubled the page's rendering time."""
    return [
        (time_value(moment), _("%(time)s Uhr") % {"time": timezone.localtime(moment).strftime("%H:%M")})
        for moment in moments
    ]


SLOT_MINUTES = 30


def slot_start(moment):
    local = timezone.localtime(moment)
    return local.replace(minute=local.minute - local.minute % SLOT_MINUTES, second=0, microsecond=0)


def earliest_per_slot(moments: list) -> list:
    """The earliest free time of each half hour. A big centre has a free time every three
    minutes: a few hundred buttons overwhelm people (and cost a third of the page's time).
    The person picks the half hour; the hold takes its earliest free pair (or, if that went in
    the meantime, the next one, and says so)."""
    earliest = {}
    for moment in moments:
        earliest.setdefault(slot_start(moment), moment)
    return list(earliest.values())


def slot_buttons(moments) -> list[tuple[str, str]]:
    """(form value, label "08:00 bis 08:30 Uhr") per half hour."""
    result = []
    for moment in moments:
        start = slot_start(moment)
        end = start + timedelta(minutes=SLOT_MINUTES)
        label = _("%(start)s bis %(end)s Uhr") % {
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        }
        result.append((time_value(moment), label))
    return result


def offered_second_times(first, second):
    return [starts_at for starts_at, _count in second_dose_options(first=first, current_second=second)]


def person_from(data: dict, birth_date: date) -> PersonData:
    """PersonData from a PersonForm's cleaned data (kept in the session between steps)."""
    fields = ("first_name", "last_name", "postcode", "email", "phone")
    return PersonData(birth_date=birth_date, **{name: data[name] for name in fields})
