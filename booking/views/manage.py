"""Termin verwalten (look up, move the second dose, cancel) and online registration."""

from datetime import date
from functools import wraps

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.codes import format_code
from booking.exceptions import BookingError, BookingNotFound
from booking.forms import (
    ManageForm,
    RegisterForm,
    TimeChoiceForm,
)
from booking.selectors import (
    booking_lookup,
    open_groups,
)
from booking.services.bookings import booking_cancel, booking_move_second
from booking.services.registrations import registration_create
from booking.views.common import (
    MANAGE,
    REGISTERED,
    form_page,
    offered_second_times,
    person_from,
    second_dose_context,
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
    return form_page(request, "booking/manage.html", {"form": form}, form)


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
        context.update(second_dose_context(request, booking.first, booking.second))
    return render(request, "booking/manage_booking.html", context)


@require_POST
@manage_required
def manage_move(request, booking):
    if not _movable(booking):
        messages.error(request, _("Der zweite Termin dieser Buchung kann nicht mehr geändert werden."))
        return redirect("booking:manage_booking")
    form = TimeChoiceForm(request.POST, offered=offered_second_times(booking.first, booking.second))
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
            person=person_from(data, data["birth_date"]),
            channel="online",
            declared_group=data["group"],
        )
        request.session[REGISTERED] = registration.code
        return HttpResponseRedirect(reverse("booking:registered"))
    return form_page(request, "booking/register.html", {"form": form}, form)


def registered(request):
    code = request.session.get(REGISTERED)
    if not code:
        return redirect("booking:register")
    return render(request, "booking/registered.html", {"code": format_code(code)})
