"""The one availability selector (DESIGN invariant 7) and the eligibility check."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from booking.exceptions import NoFreePair
from booking.models import PriorityGroup
from booking.selectors import eligibility, free_pairs
from booking.services.bookings import booking_confirm
from booking.services.holds import hold_create_next
from supply.models import Appointment, Vaccine
from tests.booking.conftest import person, tomorrow

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 1)


def test_what_is_shown_free_is_exactly_what_booking_accepts(centre, comirnaty):
    """Every pair the selector counts at a time can be held, and not one more."""
    day = tomorrow()
    booking_confirm(
        token=hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner="x").token,
        person=person(),
    )
    hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner="y")  # a live hold
    shown = free_pairs(by="day", centre_ids=[centre.id], vaccine_ids=[comirnaty.id])
    count = shown.counts[centre.id, comirnaty.id, day]
    assert count > 0 and shown.computed_at <= timezone.now()
    for number in range(count):
        hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner=f"person {number}")
    with pytest.raises(NoFreePair):
        hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner="one too many")
    assert (centre.id, comirnaty.id, day) not in free_pairs(by="day").counts


def test_a_pair_whose_second_dose_is_taken_is_not_free(centre, comirnaty):
    first = Appointment.objects.filter(dose=1, vaccine=comirnaty).order_by("starts_at").first()
    before = free_pairs(by="centre").total()
    Appointment.objects.filter(pk=first.second_id).update(booked=True)
    assert free_pairs(by="centre").total() == before - 1


def test_counts_by_time_and_by_centre_agree(centre, comirnaty):
    by_time = free_pairs(by="time", centre_ids=[centre.id])
    by_centre = free_pairs(by="centre", centre_ids=[centre.id])
    assert by_time.total() == by_centre.total() == by_centre.counts[centre.id, comirnaty.id]
    assert all(key[2] > timezone.now() for key in by_time.counts)


def test_past_appointments_are_never_free(centre, comirnaty):
    total = free_pairs(by="centre").total()
    Appointment.objects.filter(dose=1).update(starts_at=timezone.now() - timedelta(hours=1))
    assert free_pairs(by="centre").total() == 0 < total


def test_eligible_by_age_once_the_group_is_open():
    PriorityGroup.objects.filter(number__gte=2).update(open_from=None)
    old = eligibility(birth_date=date(1940, 3, 1), on=TODAY)
    assert old.eligible and old.age == 86 and old.group.number == 1 and not old.by_declaration
    young = eligibility(birth_date=date(1960, 3, 1), on=TODAY)
    assert not young.eligible and "ab 80 Jahren" in young.reason and "66 Jahre" in young.reason


def test_eligible_by_declaration_of_an_open_group():
    PriorityGroup.objects.filter(number__gte=3).update(open_from=None)
    declared = eligibility(birth_date=date(1980, 1, 1), declared_group=2, on=TODAY)
    assert declared.eligible and declared.by_declaration and declared.group.number == 2
    closed = eligibility(birth_date=date(1980, 1, 1), declared_group=3, on=TODAY)
    assert not closed.eligible


def test_the_vaccines_a_persons_age_allows():
    astra = Vaccine.objects.get(code="astra").id
    assert astra in eligibility(birth_date=date(1950, 1, 1), on=TODAY).vaccine_ids
    assert astra not in eligibility(birth_date=date(1990, 1, 1), on=TODAY).vaccine_ids
    teen = eligibility(birth_date=TODAY.replace(year=TODAY.year - 17), on=TODAY)
    assert teen.eligible and teen.vaccine_ids == [Vaccine.objects.get(code="comirnaty").id]
    child = eligibility(birth_date=TODAY.replace(year=TODAY.year - 10), on=TODAY)
    assert not child.eligible
