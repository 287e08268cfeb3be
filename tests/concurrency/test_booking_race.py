"""Booking under contention, in real parallel transactions on PostgreSQL (DESIGN invariant 1).

Each client runs in its own thread with its own database connection. A barrier starts them
together; in the control test a barrier also sits between reading and claiming, so the race
is forced rather than left to chance.
"""

import threading
import time
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from booking import locking
from booking.exceptions import BookingCancelled, HoldExpired, NoFreePair
from booking.models import Booking, Hold
from booking.selectors import free_pairs, second_dose_options
from booking.services import bookings
from booking.services.bookings import booking_cancel, booking_confirm, booking_move_second
from booking.services.holds import hold_create_next
from supply.models import Appointment, Vaccine
from tests.booking.conftest import person, plan, tomorrow
from tests.factories import CentreFactory

BORN = date(1938, 5, 17)
race = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def in_parallel(count: int, work) -> list:
    """Run work(number) in `count` threads started together; returns results or exceptions."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(number):
        try:
            start.wait(timeout=30)
            results[number] = work(number)
        except Exception as exc:
            results[number] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def ten_pairs(transactional_db):
    """A centre with exactly ten pairs: 20 doses of Spikevax, two whole vials."""
    centre = CentreFactory(lanes=2, minutes_per_vaccination=15)
    plan(centre, "moderna", doses=20)
    assert free_pairs(by="centre").total() == 10
    return centre


def book_next(centre, vaccine, number):
    hold = hold_create_next(
        centre_id=centre.id, vaccine_id=vaccine.id, day=tomorrow(), owner=f"client {number}"
    )
    return booking_confirm(
        token=hold.token, person=person(first=f"Person{number}", email=f"p{number}@example.org")
    )


@race
def test_fifty_clients_race_for_ten_pairs(ten_pairs):
    moderna = Vaccine.objects.get(code="moderna")
    results = in_parallel(50, lambda number: book_next(ten_pairs, moderna, number))

    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, NoFreePair)]
    assert len(booked) == 10 and len(refused) == 40, Counter(type(r).__name__ for r in results)
    assert Booking.objects.count() == 10
    appointments = [b.first_id for b in booked] + [b.second_id for b in booked]
    assert len(set(appointments)) == 20  # every appointment once
    assert Appointment.objects.filter(booked=True).count() == 20
    assert free_pairs(by="centre").total() == 0


def naive_claim_next_pair(
    centre_id, vaccine_id, start, end, token, minutes, channel="online", *, read_together
):
    """The claim without its lock: read the earliest free pair, then write the claim."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.id, a.second_id FROM supply_appointment a
            WHERE a.centre_id = %s AND a.vaccine_id = %s AND a.dose = 1
              AND a.starts_at >= %s AND a.starts_at < %s AND {locking.free("a", channel)}
            ORDER BY a.starts_at, a.id LIMIT 1
            """,
            [centre_id, vaccine_id, start, end],
        )
        row = cursor.fetchone()
        read_together.wait(timeout=30)  # everyone has read before anyone claims
        if row is None:
            return None
        cursor.execute(
            "UPDATE supply_appointment SET claim_token = %s,"
            " claimed_until = now() + make_interval(mins => %s) WHERE id = ANY(%s) RETURNING claimed_until",
            [token, minutes, list(row)],
        )
        return row[0], row[1], cursor.fetchone()[0]


@race
def test_control_without_the_lock_one_pair_is_held_many_times(monkeypatch, ten_pairs):
    moderna = Vaccine.objects.get(code="moderna")
    read_together = threading.Barrier(20)
    monkeypatch.setattr(
        locking,
        "claim_next_pair",
        lambda *args: naive_claim_next_pair(*args, read_together=read_together),
    )
    in_parallel(
        20,
        lambda number: hold_create_next(
            centre_id=ten_pairs.id, vaccine_id=moderna.id, day=tomorrow(), owner=f"client {number}"
        ),
    )
    held = Counter(Hold.objects.values_list("first_id", flat=True))
    assert max(held.values()) > 1  # the race: one pair held by several people at once


@race
def test_a_hold_that_expires_while_its_confirm_is_on_the_way_is_refused(monkeypatch, ten_pairs):
    moderna = Vaccine.objects.get(code="moderna")
    hold = hold_create_next(centre_id=ten_pairs.id, vaccine_id=moderna.id, day=tomorrow(), owner="slow")
    Appointment.objects.filter(claim_token=hold.token).update(
        claimed_until=timezone.now() + timedelta(milliseconds=500)
    )
    lock_held = locking.lock_held

    def slowly(*args):
        time.sleep(1)  # the confirm began before the hold ran out and gets here after
        return lock_held(*args)

    monkeypatch.setattr(locking, "lock_held", slowly)
    with pytest.raises(HoldExpired):
        booking_confirm(token=hold.token, person=person())
    assert not Booking.objects.exists()
    assert free_pairs(by="centre").total() == 10


@race
def test_two_confirms_of_one_hold_make_one_booking(ten_pairs):
    moderna = Vaccine.objects.get(code="moderna")
    hold = hold_create_next(centre_id=ten_pairs.id, vaccine_id=moderna.id, day=tomorrow(), owner="twice")
    results = in_parallel(2, lambda _number: booking_confirm(token=hold.token, person=person()))
    assert all(isinstance(r, Booking) for r in results), results
    assert results[0].pk == results[1].pk and Booking.objects.count() == 1


@race
def test_a_cancel_racing_a_move_leaves_a_consistent_state(ten_pairs):
    centre = ten_pairs
    plan(centre, "comirnaty", doses=120)
    comirnaty = Vaccine.objects.get(code="comirnaty")
    free_before = free_pairs(by="centre").total()
    booking = bookings.booking_confirm(
        token=hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a").token,
        person=person(),
    )
    target = second_dose_options(first=booking.first, current_second=booking.second)[-1][0]

    def act(number):
        if number == 0:
            return booking_cancel(code=booking.code, birth_date=BORN)
        return booking_move_second(code=booking.code, birth_date=BORN, starts_at=target)

    results = in_parallel(2, act)

    assert all(isinstance(r, Booking | BookingCancelled) for r in results), results
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not Appointment.objects.filter(booked=True).exists()
    assert free_pairs(by="centre").total() == free_before
    for first in Appointment.objects.filter(dose=1, vaccine=comirnaty).select_related("second"):
        days = (timezone.localtime(first.second.starts_at) - timezone.localtime(first.starts_at)).days
        assert comirnaty.interval_min_days <= days <= comirnaty.interval_max_days
