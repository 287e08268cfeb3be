"""The public booking pages: eligibility -> centre -> day and time -> held pair -> personal data
-> summary and confirm -> confirmation; "Termin verwalten"; online registration.

Every page works without JavaScript (POST-redirect-GET, CSRF on every form). The state between
steps is the session's: the eligibility answers, the postcode, the hold's token (the hold's
owner is the session key) and the personal data. Views parse, call one selector or service and
turn a BookingError into its message; a tampered or stale form gets a page that says what to do.
"""

from collections import defaultdict
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.codes import format_code
from booking.exceptions import BookingError, BookingNotFound, HoldExpired, HoldNotFound, RegistrationNotFound
from booking.forms import (
    EligibilityForm,
    ManageForm,
    PersonForm,
    RegisterForm,
    RegistrationCodeForm,
    TimeChoiceForm,
    time_value,
)
from booking.models import Hold
from booking.selectors import (
    booking_lookup,
    eligibility,
    free_pairs,
    hold_get,
    open_groups,
    second_dose_bounds,
    second_dose_options,
)
from booking.services.bookings import PersonData, booking_cancel, booking_confirm, booking_move_second
from booking.services.holds import hold_change_second, hold_create_next, hold_extend, hold_release
from booking.services.registrations import registration_create, registration_find
from centres.models import Centre
from centres.selectors import centres_by_distance
from supply.models import Vaccine

FLOW = "booking"  # session key of the booking flow's state
MANAGE = "manage"  # session key of the booking looked up under "Termin verwalten"
REGISTERED = "registered"  # session key of the code of the last online registration


# --- Helpers ------------------------------------------------------------------------------


def _problem(request, message, *, status=409, link=None, link_text=None):
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


def _form_page(request, template, context, *forms):
    """A page with forms: status 400 and "Fehler:" in the title while any form has errors."""
    has_errors = any(form.errors for form in forms)
    return render(request, template, context | {"has_errors": has_errors}, status=400 if has_errors else 200)


def _owner(request) -> str:
    """The session key, the owner of this browser's holds (the session is created if need be)."""
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


def _save_flow(request, flow: dict) -> None:
    request.session[FLOW] = flow
    request.session.modified = True


def _check(flow: dict):
    return eligibility(birth_date=date.fromisoformat(flow["birth_date"]), declared_group=flow["group"])


def _my_hold(request, flow: dict, token: str | None = None) -> Hold:
    """The hold of this session's flow; a token posted from another tab or page must be it.
    Raises HoldNotFound for a missing, foreign or tampered token."""
    if not flow.get("token") or (token is not None and token != flow["token"]):
        raise HoldNotFound()
    try:
        hold = hold_get(token=flow["token"])
    except (ValueError, BookingError):
        raise HoldNotFound() from None
    if hold.owner != _owner(request):
        raise HoldNotFound()
    return hold


def _remaining(hold: Hold) -> int:
    """Seconds the hold has left, for the countdown (the page also states the end time)."""
    return max(0, int((hold.expires_at - timezone.now()).total_seconds()))


def _is_live(hold: Hold) -> bool:
    return hold.booking_id is None and hold.released_at is None and hold.expires_at > timezone.now()


def _vaccine_explanation(vaccine: Vaccine) -> str:
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


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _second_dose_context(request, first, second, options_of=None):
    """The other second-dose times for a pair, by day; the chosen day's times (?zweittermin=)."""
    if second is None or first is None:
        return {}
    options = second_dose_options(first=first, current_second=second)
    days = defaultdict(int)
    for starts_at, count in options:
        days[timezone.localtime(starts_at).date()] += count
    chosen_day = _parse_day(request.GET.get("zweittermin", ""))
    times = _time_buttons(s for s, _count in options if timezone.localtime(s).date() == chosen_day)
    low, high = second_dose_bounds(first)
    return {
        "second_days": sorted(days.items()),
        "second_day": chosen_day if times else None,
        "second_times": times,
        "second_low": low,
        "second_high": high,
    }


def _time_buttons(moments) -> list[tuple[str, str]]:
    """(form value, label) per time. Labelled here, not in the template: a day has up to a few
    hundred times, and a translation tag per button doubled the page's rendering time."""
    return [
        (time_value(moment), _("%(time)s Uhr") % {"time": timezone.localtime(moment).strftime("%H:%M")})
        for moment in moments
    ]


SLOT_MINUTES = 30


def _slot_start(moment):
    local = timezone.localtime(moment)
    return local.replace(minute=local.minute - local.minute % SLOT_MINUTES, second=0, microsecond=0)


def _earliest_per_slot(moments: list) -> list:
    """The earliest free time of each half hour. A big centre has a free time every three
    minutes: a few hundred buttons overwhelm people (and cost a third of the page's time).
    The person picks the half hour; the hold takes its earliest free pair (or, if that went in
    the meantime, the next one, and says so)."""
    earliest = {}
    for moment in moments:
        earliest.setdefault(_slot_start(moment), moment)
    return list(earliest.values())


def _slot_buttons(moments) -> list[tuple[str, str]]:
    """(form value, label "08:00 bis 08:30 Uhr") per half hour."""
    result = []
    for moment in moments:
        start = _slot_start(moment)
        end = start + timedelta(minutes=SLOT_MINUTES)
        label = _("%(start)s bis %(end)s Uhr") % {
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        }
        result.append((time_value(moment), label))
    return result


def _offered_second_times(first, second):
    return [starts_at for starts_at, _count in second_dose_options(first=first, current_second=second)]


# --- Step 1: eligibility --------------------------------------------------------------------


def start(request):
    groups = open_groups(timezone.localdate())
    form = EligibilityForm(request.POST or None, groups=groups)
    reason = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        check = eligibility(birth_date=data["birth_date"], declared_group=data["group"])
        if check.eligible:
            old = request.session.get(FLOW) or {}
            _save_flow(
                request,
                {
                    "birth_date": data["birth_date"].isoformat(),
                    "group": data["group"],
                    "postcode": data["postcode"],
                    "token": old.get("token"),
                },
            )
            return redirect("booking:centres")
        reason = check.reason
    return _form_page(request, "booking/start.html", {"form": form, "reason": reason}, form)


# --- Step 2: centre ---------------------------------------------------------------------------


@flow_required
def centres(request, flow):
    check = _check(flow)
    if not check.eligible:
        return _problem(request, check.reason)
    free = free_pairs(by="centre", vaccine_ids=check.vaccine_ids)
    per_centre = defaultdict(int)
    for (centre_id, _vaccine_id), count in free.counts.items():
        per_centre[centre_id] += count
    nearby = centres_by_distance(postcode=flow["postcode"])
    return render(
        request,
        "booking/centres.html",
        {
            "centres": [(item, per_centre[item.centre.id]) for item in nearby],
            "computed_at": free.computed_at,
            "postcode": flow["postcode"],
        },
    )


def _centre(code: str) -> Centre | None:
    return Centre.objects.filter(code=code, active=True).first()


# --- Step 3: day, then time -----------------------------------------------------------------


@flow_required
def centre_days(request, flow, centre_code):
    centre = _centre(centre_code)
    if centre is None:
        return _problem(request, _("Dieses Impfzentrum gibt es nicht."), status=404)
    check = _check(flow)
    vaccines = {v.id: v for v in Vaccine.objects.filter(id__in=check.vaccine_ids)}
    free = free_pairs(by="day", centre_ids=[centre.id], vaccine_ids=check.vaccine_ids)
    days = defaultdict(list)
    for (_centre_id, vaccine_id, day), count in sorted(free.counts.items(), key=lambda kv: kv[0][2]):
        days[day].append((vaccines[vaccine_id], count))
    offered = {v for counts in days.values() for v, _count in counts}
    return render(
        request,
        "booking/days.html",
        {
            "centre": centre,
            "days": sorted(days.items()),
            "explanations": [_vaccine_explanation(v) for v in sorted(offered, key=lambda v: v.name)],
            "computed_at": free.computed_at,
        },
    )


@flow_required
def centre_times(request, flow, centre_code, day, vaccine_code):
    centre = _centre(centre_code)
    vaccine = Vaccine.objects.filter(code=vaccine_code).first()
    chosen_day = _parse_day(day)
    check = _check(flow)
    if centre is None or vaccine is None or chosen_day is None:
        return _problem(request, _("Diese Auswahl gibt es nicht. Bitte wählen Sie erneut."), status=404)
    if vaccine.id not in check.vaccine_ids:
        return _problem(
            request,
            _("%(vaccine)s ist für Ihr Alter nicht zugelassen. Bitte wählen Sie einen anderen Impfstoff.")
            % {"vaccine": vaccine.name},
            status=400,
            link=reverse("booking:centre", args=[centre.code]),
        )
    free = free_pairs(
        by="time",
        centre_ids=[centre.id],
        vaccine_ids=[vaccine.id],
        start=chosen_day,
        end=chosen_day + timedelta(days=1),
    )
    offered = _earliest_per_slot(sorted(starts_at for (_c, _v, starts_at) in free.counts))
    form = TimeChoiceForm(request.POST or None, offered=offered)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time"]
        try:
            hold = hold_create_next(
                centre_id=centre.id,
                vaccine_id=vaccine.id,
                day=chosen_day,
                after=timezone.localtime(chosen).time(),
                owner=_owner(request),
            )
        except BookingError as error:
            form.add_error("time", error.message)
        else:
            if hold.first.starts_at != chosen:
                messages.warning(
                    request,
                    _(
                        "Die gewählte Uhrzeit war gerade nicht mehr frei. Wir haben für Sie den "
                        "nächsten freien Termin an diesem Tag reserviert."
                    ),
                )
            _save_flow(request, flow | {"token": str(hold.token)})
            return redirect("booking:hold")
    return _form_page(
        request,
        "booking/times.html",
        {
            "centre": centre,
            "vaccine": vaccine,
            "day": chosen_day,
            "times": _slot_buttons(offered),
            "explanation": _vaccine_explanation(vaccine),
            "form": form,
            "computed_at": free.computed_at,
        },
        form,
    )


# --- Step 4: the held pair ----------------------------------------------------------------


def _hold_or_problem(view):
    """The flow's live hold, or a page saying that it is gone (expired, released, foreign)."""

    @wraps(view)
    def wrapper(request, flow, *args, **kwargs):
        try:
            hold = _my_hold(request, flow, request.POST.get("token") if request.method == "POST" else None)
        except HoldNotFound as error:
            return _problem(request, error.message, link=reverse("booking:centres"))
        if hold.booking_id is not None:
            return redirect("booking:confirmation")
        if not _is_live(hold):
            return _problem(request, HoldExpired().message, link=reverse("booking:centres"))
        return view(request, flow, hold, *args, **kwargs)

    return flow_required(wrapper)


@_hold_or_problem
def hold(request, flow, hold):
    return render(
        request,
        "booking/hold.html",
        {
            "hold": hold,
            "remaining": _remaining(hold),
            "explanation": _vaccine_explanation(hold.first.vaccine),
            **_second_dose_context(request, hold.first, hold.second),
        },
    )


@require_POST
@_hold_or_problem
def hold_extend_view(request, flow, hold):
    try:
        hold_extend(token=hold.token)
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Sie haben jetzt wieder die volle Zeit."))
    back = request.POST.get("back")
    return redirect(f"booking:{back}" if back in ("details", "summary") else "booking:hold")


@require_POST
@_hold_or_problem
def hold_second(request, flow, hold):
    if hold.second is None:
        return redirect("booking:hold")
    form = TimeChoiceForm(request.POST, offered=_offered_second_times(hold.first, hold.second))
    if not form.is_valid():
        messages.error(request, form.errors["time"][0])
        return redirect("booking:hold")
    try:
        hold_change_second(token=hold.token, starts_at=form.cleaned_data["time"])
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Ihr zweiter Termin ist geändert."))
    return redirect("booking:hold")


@require_POST
@flow_required
def hold_release_view(request, flow):
    try:
        hold = _my_hold(request, flow, request.POST.get("token"))
        hold_release(token=hold.token)
    except BookingError:
        pass  # gone already: nothing to release
    _save_flow(request, flow | {"token": None, "person": None, "registration": None})
    messages.info(request, _("Ihre Reservierung ist aufgehoben. Sie können einen anderen Termin wählen."))
    return redirect("booking:centres")


# --- Step 5: personal data ------------------------------------------------------------------


@_hold_or_problem
def details(request, flow, hold):
    which = request.POST.get("form") if request.method == "POST" else None
    person_initial = flow.get("person") or {"postcode": flow["postcode"]}
    person_form = PersonForm(request.POST if which == "person" else None, initial=person_initial)
    code_form = RegistrationCodeForm(request.POST if which == "registration" else None)
    birth_date = date.fromisoformat(flow["birth_date"])
    if which == "person" and person_form.is_valid():
        _save_flow(request, flow | {"person": person_form.cleaned_data, "registration": None})
        return redirect("booking:summary")
    if which == "registration" and code_form.is_valid():
        code = code_form.cleaned_data["registration_code"]
        try:
            registration_find(code=code, birth_date=birth_date)
        except RegistrationNotFound as error:
            code_form.add_error("registration_code", error.message)
        else:
            _save_flow(request, flow | {"registration": code, "person": None})
            return redirect("booking:summary")
    return _form_page(
        request,
        "booking/details.html",
        {
            "hold": hold,
            "remaining": _remaining(hold),
            "person_form": person_form,
            "code_form": code_form,
            "birth_date": birth_date,
        },
        person_form,
        code_form,
    )


# --- Step 6: summary and confirm ----------------------------------------------------------


def _person_from(data: dict, birth_date: date) -> PersonData:
    """PersonData from a PersonForm's cleaned data (kept in the session between steps)."""
    fields = ("first_name", "last_name", "postcode", "email", "phone")
    return PersonData(birth_date=birth_date, **{name: data[name] for name in fields})


def _person_data(flow: dict) -> PersonData:
    return _person_from(flow["person"], date.fromisoformat(flow["birth_date"]))


def _registered_group(registration) -> int | None:
    return registration.priority_group.number if registration and registration.priority_group else None


@flow_required
def summary(request, flow):
    try:
        hold = _my_hold(request, flow, request.POST.get("token") if request.method == "POST" else None)
    except HoldNotFound as error:
        return _problem(request, error.message, link=reverse("booking:centres"))
    if hold.booking_id is not None and request.method == "GET":
        return redirect("booking:confirmation")
    if not flow.get("person") and not flow.get("registration"):
        return redirect("booking:details")
    birth_date = date.fromisoformat(flow["birth_date"])
    registration = None
    if flow.get("registration"):
        try:
            registration = registration_find(code=flow["registration"], birth_date=birth_date)
        except RegistrationNotFound as error:
            return _problem(request, error.message, link=reverse("booking:details"), link_text=_("Zurück"))
    if request.method == "POST":
        # A second submit of the same form returns the same booking (booking_confirm).
        try:
            booking_confirm(
                token=hold.token,
                person=None if registration else _person_data(flow),
                registration=registration,
                declared_group=flow["group"] or _registered_group(registration),
                language=get_language() or "de",
            )
        except BookingError as error:
            return _problem(request, error.message, link=reverse("booking:centres"))
        return redirect("booking:confirmation")
    if not _is_live(hold):
        return _problem(request, HoldExpired().message, link=reverse("booking:centres"))
    person = registration.person if registration else _person_data(flow)
    return render(
        request,
        "booking/summary.html",
        {
            "hold": hold,
            "remaining": _remaining(hold),
            "person": person,
            "registration": registration,
            "birth_date": birth_date,
        },
    )


# --- Step 7: confirmation -------------------------------------------------------------------


@flow_required
def confirmation(request, flow):
    try:
        hold = _my_hold(request, flow)
    except HoldNotFound:
        return redirect("booking:start")
    booking = hold.booking
    if booking is None:
        return redirect("booking:summary")
    booking = booking_lookup(code=booking.code, birth_date=date.fromisoformat(flow["birth_date"]))
    return render(
        request, "booking/confirmation.html", {"booking": booking, "code": format_code(booking.code)}
    )


# --- Termin verwalten -----------------------------------------------------------------------


def manage(request):
    form = ManageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code, birth_date = form.cleaned_data["code"], form.cleaned_data["birth_date"]
        try:
            booking_lookup(code=code, birth_date=birth_date)
        except BookingNotFound as error:
            form.add_error("code", error.message)
        else:
            request.session[MANAGE] = {"code": code, "birth_date": birth_date.isoformat()}
            return redirect("booking:manage_booking")
    return _form_page(request, "booking/manage.html", {"form": form}, form)


def manage_required(view):
    """The booking looked up with code and birth date in this session."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        found = request.session.get(MANAGE)
        try:
            if not found:
                raise BookingNotFound()
            booking = booking_lookup(code=found["code"], birth_date=date.fromisoformat(found["birth_date"]))
        except BookingNotFound:
            messages.info(request, _("Bitte geben Sie Ihren Buchungscode und Ihr Geburtsdatum ein."))
            return redirect("booking:manage")
        return view(request, booking, *args, **kwargs)

    return wrapper


def _movable(booking) -> bool:
    return (
        booking.status == booking.Status.ACTIVE
        and booking.second is not None
        and booking.second.starts_at > timezone.now()
    )


@manage_required
def manage_booking(request, booking):
    context = {"booking": booking, "code": format_code(booking.code), "movable": _movable(booking)}
    if context["movable"]:
        context.update(_second_dose_context(request, booking.first, booking.second))
    return render(request, "booking/manage_booking.html", context)


@require_POST
@manage_required
def manage_move(request, booking):
    if not _movable(booking):
        messages.error(request, _("Der zweite Termin dieser Buchung kann nicht mehr geändert werden."))
        return redirect("booking:manage_booking")
    form = TimeChoiceForm(request.POST, offered=_offered_second_times(booking.first, booking.second))
    if not form.is_valid():
        messages.error(request, form.errors["time"][0])
        return redirect("booking:manage_booking")
    try:
        booking_move_second(
            code=booking.code, birth_date=booking.person.birth_date, starts_at=form.cleaned_data["time"]
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Ihr zweiter Termin ist geändert. Wir haben Ihnen eine neue Bestätigung geschickt.")
        )
    return redirect("booking:manage_booking")


@manage_required
def manage_cancel(request, booking):
    if booking.status != booking.Status.ACTIVE:
        return redirect("booking:manage_booking")
    if request.method == "POST":
        try:
            booking_cancel(code=booking.code, birth_date=booking.person.birth_date)
        except BookingError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Ihre Termine sind storniert. Sie sind jetzt für andere frei."))
        return redirect("booking:manage_booking")
    return render(
        request, "booking/manage_cancel.html", {"booking": booking, "code": format_code(booking.code)}
    )


# --- Online registration ------------------------------------------------------------------


def register(request):
    form = RegisterForm(request.POST or None, groups=open_groups(timezone.localdate()))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        registration = registration_create(
            person=_person_from(data, data["birth_date"]),
            channel="online",
            declared_group=data["group"],
        )
        request.session[REGISTERED] = registration.code
        return HttpResponseRedirect(reverse("booking:registered"))
    return _form_page(request, "booking/register.html", {"form": form}, form)


def registered(request):
    code = request.session.get(REGISTERED)
    if not code:
        return redirect("booking:register")
    return render(request, "booking/registered.html", {"code": format_code(code)})
