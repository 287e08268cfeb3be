"""The booking flow, step by step: eligibility, centre, day and time, the held pair, personal data,
summary and confirm, confirmation."""

from collections import defaultdict
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.codes import format_code
from booking.exceptions import BookingError, HoldExpired, HoldNotFound, RegistrationNotFound
from booking.forms import (
    EligibilityForm,
    PersonForm,
    RegistrationCodeForm,
    TimeChoiceForm,
)
from booking.selectors import (
    booking_lookup,
    eligibility,
    free_pairs,
    open_groups,
)
from booking.services.bookings import PersonData, booking_confirm
from booking.services.holds import hold_change_second, hold_create_next, hold_extend, hold_release
from booking.services.registrations import registration_find
from booking.views.common import (
    FLOW,
    earliest_per_slot,
    flow_eligibility,
    flow_required,
    form_page,
    is_live,
    my_hold,
    offered_second_times,
    owner,
    parse_day,
    person_from,
    problem,
    remaining,
    save_flow,
    second_dose_context,
    slot_buttons,
    vaccine_explanation,
)
from centres.models import Centre
from centres.selectors import centres_by_distance
from supply.models import Vaccine

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
            save_flow(
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
    return form_page(request, "booking/start.html", {"form": form, "reason": reason}, form)


# --- Step 2: centre ---------------------------------------------------------------------------


@flow_required
def centres(request, flow):
    check = flow_eligibility(flow)
    if not check.eligible:
        return problem(request, check.reason)
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
        return problem(request, _("Dieses Impfzentrum gibt es nicht."), status=404)
    check = flow_eligibility(flow)
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
            "explanations": [vaccine_explanation(v) for v in sorted(offered, key=lambda v: v.name)],
            "computed_at": free.computed_at,
        },
    )


@flow_required
def centre_times(request, flow, centre_code, day, vaccine_code):
    centre = _centre(centre_code)
    vaccine = Vaccine.objects.filter(code=vaccine_code).first()
    chosen_day = parse_day(day)
    check = flow_eligibility(flow)
    if centre is None or vaccine is None or chosen_day is None:
        return problem(request, _("Diese Auswahl gibt es nicht. Bitte wählen Sie erneut."), status=404)
    if vaccine.id not in check.vaccine_ids:
        return problem(
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
    offered = earliest_per_slot(sorted(starts_at for (_c, _v, starts_at) in free.counts))
    form = TimeChoiceForm(request.POST or None, offered=offered)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time"]
        try:
            hold = hold_create_next(
                centre_id=centre.id,
                vaccine_id=vaccine.id,
                day=chosen_day,
                after=timezone.localtime(chosen).time(),
                owner=owner(request),
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
            save_flow(request, flow | {"token": str(hold.token)})
            return redirect("booking:hold")
    return form_page(
        request,
        "booking/times.html",
        {
            "centre": centre,
            "vaccine": vaccine,
            "day": chosen_day,
            "times": slot_buttons(offered),
            "explanation": vaccine_explanation(vaccine),
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
            hold = my_hold(request, flow, request.POST.get("token") if request.method == "POST" else None)
        except HoldNotFound as error:
            return problem(request, error.message, link=reverse("booking:centres"))
        if hold.booking_id is not None:
            return redirect("booking:confirmation")
        if not is_live(hold):
            return problem(request, HoldExpired().message, link=reverse("booking:centres"))
        return view(request, flow, hold, *args, **kwargs)

    return flow_required(wrapper)


@_hold_or_problem
def hold(request, flow, hold):
    return render(
        request,
        "booking/hold.html",
        {
            "hold": hold,
            "remaining": remaining(hold),
            "explanation": vaccine_explanation(hold.first.vaccine),
            **second_dose_context(request, hold.first, hold.second),
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
    form = TimeChoiceForm(request.POST, offered=offered_second_times(hold.first, hold.second))
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
        hold = my_hold(request, flow, request.POST.get("token"))
        hold_release(token=hold.token)
    except BookingError:
        pass  # gone already: nothing to release
    save_flow(request, flow | {"token": None, "person": None, "registration": None})
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
        save_flow(request, flow | {"person": person_form.cleaned_data, "registration": None})
        return redirect("booking:summary")
    if which == "registration" and code_form.is_valid():
        code = code_form.cleaned_data["registration_code"]
        try:
            registration_find(code=code, birth_date=birth_date)
        except RegistrationNotFound as error:
            code_form.add_error("registration_code", error.message)
        else:
            save_flow(request, flow | {"registration": code, "person": None})
            return redirect("booking:summary")
    return form_page(
        request,
        "booking/details.html",
        {
            "hold": hold,
            "remaining": remaining(hold),
            "person_form": person_form,
            "code_form": code_form,
            "birth_date": birth_date,
        },
        person_form,
        code_form,
    )


# --- Step 6: summary and confirm ----------------------------------------------------------


def _person_data(flow: dict) -> PersonData:
    return person_from(flow["person"], date.fromisoformat(flow["birth_date"]))


def _registered_group(registration) -> int | None:
    return registration.priority_group.number if registration and registration.priority_group else None


@flow_required
def summary(request, flow):
    try:
        hold = my_hold(request, flow, request.POST.get("token") if request.method == "POST" else None)
    except HoldNotFound as error:
        return problem(request, error.message, link=reverse("booking:centres"))
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
            return problem(request, error.message, link=reverse("booking:details"), link_text=_("Zurück"))
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
            return problem(request, error.message, link=reverse("booking:centres"))
        return redirect("booking:confirmation")
    if not is_live(hold):
        return problem(request, HoldExpired().message, link=reverse("booking:centres"))
    person = registration.person if registration else _person_data(flow)
    return render(
        request,
        "booking/summary.html",
        {
            "hold": hold,
            "remaining": remaining(hold),
            "person": person,
            "registration": registration,
            "birth_date": birth_date,
        },
    )


# --- Step 7: confirmation -------------------------------------------------------------------


@flow_required
def confirmation(request, flow):
    try:
        hold = my_hold(request, flow)
    except HoldNotFound:
        return redirect("booking:start")
    booking = hold.booking
    if booking is None:
        return redirect("booking:summary")
    booking = booking_lookup(code=booking.code, birth_date=date.fromisoformat(flow["birth_date"]))
    return render(
        request, "booking/confirmation.html", {"booking": booking, "code": format_code(booking.code)}
    )
