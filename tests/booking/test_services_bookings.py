"""Booking a held pair: DESIGN invariants 2 (a whole series), 6 (one per person), 12 (mail after commit)."""

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from booking.exceptions import AlreadyBooked, BookingCancelled, BookingNotFound, NotEligible
from booking.models import Booking, PriorityGroup
from booking.selectors import booking_lookup, free_pairs, second_dose_options
from booking.services.bookings import booking_cancel, booking_confirm, booking_move_second
from booking.services.holds import hold_create_next
from booking.services.registrations import registration_create, registration_find
from supply.models import Appointment, Vaccine
from tests.booking.conftest import person, plan, tomorrow

pytestmark = pytest.mark.django_db
BORN = date(1938, 5, 17)


def hold(centre, vaccine, owner="a"):
    return hold_create_next(centre_id=centre.id, vaccine_id=vaccine.id, day=tomorrow(), owner=owner)


def book(centre, vaccine, who=None, owner="a", **kwargs):
    return booking_confirm(token=hold(centre, vaccine, owner).token, person=who or person(), **kwargs)


def test_a_booking_is_a_whole_series(centre, comirnaty, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(centre, comirnaty)

    first, second = booking.first, booking.second
    assert (first.dose, second.dose) == (1, 2)
    assert first.second_id == second.id
    assert (second.centre_id, second.vaccine_id) == (first.centre_id, first.vaccine_id)
    days = (timezone.localtime(second.starts_at).date() - timezone.localtime(first.starts_at).date()).days
    assert comirnaty.interval_min_days <= days <= comirnaty.interval_max_days
    assert Appointment.objects.filter(pk__in=[first.pk, second.pk], booked=True).count() == 2
    assert not Appointment.objects.filter(pk__in=[first.pk, second.pk], claim_token__isnull=False).exists()
    assert len(booking.code) == 10 and booking.status == Booking.Status.ACTIVE

    (mail,) = mailoutbox
    assert mail.to == ["erika@example.org"]
    assert booking.code[:4] in mail.subject and "Guten Tag Erika Mustermann" in mail.body
    name, ics, mimetype = mail.attachments[0]
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    assert ics.count("BEGIN:VEVENT") == 2 and "\r\n" in ics
    start = first.starts_at.astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in ics


def test_a_single_dose_vaccine_books_one_appointment(centre):
    plan(centre, "johnson", doses=50)
    booking = book(centre, Vaccine.objects.get(code="johnson"))
    assert booking.second is None and booking.first.booked


def test_the_mail_waits_for_the_commit(centre, comirnaty, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book(centre, comirnaty)
    assert mailoutbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1


def test_confirming_twice_gives_the_same_booking(centre, comirnaty):
    held = hold(centre, comirnaty)
    first = booking_confirm(token=held.token, person=person())
    again = booking_confirm(token=held.token, person=person())
    assert again.pk == first.pk and Booking.objects.count() == 1


def test_one_active_booking_per_person_however_the_name_is_spelled(centre, comirnaty):
    booking = book(centre, comirnaty, person(first="Jürgen", last="Müller-Lüdenscheidt"))
    other = hold(centre, comirnaty, owner="b")
    with pytest.raises(AlreadyBooked) as refused:
        booking_confirm(token=other.token, person=person(first="JUERGEN", last="Mueller Lüdenscheidt"))
    assert refused.value.masked_code == "•" * 7 + booking.code[-3:]
    assert booking.code not in refused.value.message and booking.code[-3:] in refused.value.message
    assert Booking.objects.count() == 1
    # After a cancellation the person may book again.
    booking_cancel(code=booking.code, birth_date=BORN)
    assert booking_confirm(token=other.token, person=person(first="Jürgen", last="Müller-Lüdenscheidt"))


def test_not_eligible_before_the_persons_group_opens(centre, comirnaty):
    PriorityGroup.objects.filter(min_age__lt=70).update(open_from=None)
    held = hold(centre, comirnaty)
    with pytest.raises(NotEligible) as refused:
        booking_confirm(token=held.token, person=person(born=date(1970, 1, 1)))
    assert "ab 70 Jahren" in refused.value.message
    # Declaring an open group by occupation or condition is enough (checked at the centre).
    assert booking_confirm(token=held.token, person=person(born=date(1970, 1, 1)), declared_group=2)


def test_a_vaccine_the_persons_age_does_not_allow(centre):
    plan(centre, "astra", doses=100)
    held = hold(centre, Vaccine.objects.get(code="astra"))
    with pytest.raises(NotEligible) as refused:
        booking_confirm(token=held.token, person=person(born=date(1990, 1, 1)))
    assert "Vaxzevria" in refused.value.message


def test_cancel_frees_both_appointments_at_once(centre, comirnaty):
    before = free_pairs(by="centre").total()
    booking = book(centre, comirnaty)
    assert free_pairs(by="centre").total() == before - 1
    cancelled = booking_cancel(code=booking.code.lower(), birth_date=BORN)
    assert cancelled.status == Booking.Status.CANCELLED and cancelled.cancelled_at
    assert free_pairs(by="centre").total() == before
    assert not Appointment.objects.filter(booked=True).exists()
    with pytest.raises(BookingCancelled):
        booking_cancel(code=booking.code, birth_date=BORN)


def test_moving_the_second_dose(centre, comirnaty, mailoutbox, django_capture_on_commit_callbacks):
    booking = book(centre, comirnaty)
    old = booking.second
    options = second_dose_options(first=booking.first, current_second=old)
    with django_capture_on_commit_callbacks(execute=True):
        moved = booking_move_second(code=booking.code, birth_date=BORN, starts_at=options[-1][0])
    assert moved.second.starts_at == options[-1][0] and moved.second.booked
    old.refresh_from_db()
    assert not old.booked and Appointment.objects.get(second=old).booked is False
    assert Appointment.objects.get(pk=booking.first_id).second_id == moved.second_id
    assert len(mailoutbox) == 1  # the updated confirmation


def test_lookup_needs_code_and_birth_date(centre, comirnaty):
    booking = book(centre, comirnaty)
    assert booking_lookup(code=f" {booking.code[:4]}-{booking.code[4:]} ", birth_date=BORN) == booking
    for code, born in ((booking.code, BORN + timedelta(days=1)), ("ACDEFHJKMN", BORN), ("", BORN)):
        with pytest.raises(BookingNotFound):
            booking_lookup(code=code, birth_date=born)


def test_a_registration_code_books_without_entering_the_data_again(centre, comirnaty):
    registration = registration_create(person=person(), channel="hotline")
    found = registration_find(code=registration.code, birth_date=BORN)
    booking = booking_confirm(token=hold(centre, comirnaty).token, registration=found)
    assert booking.person == registration.person
