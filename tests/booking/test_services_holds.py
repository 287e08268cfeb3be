"""Holding a pair: DESIGN invariants 1 (never held twice) and 5 (a hold ends by itself)."""

from collections import Counter
from datetime import time, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from booking.exceptions import HoldExpired, HoldNotExtendable, MoveNotPossible, NoFreePair, SlotTaken
from booking.models import Hold
from booking.selectors import free_pairs, hold_get, second_dose_bounds, second_dose_options
from booking.services.bookings import booking_confirm
from booking.services.holds import (
    hold_change_second,
    hold_create,
    hold_create_next,
    hold_extend,
    hold_release,
    holds_purge,
)
from supply.models import Appointment, Delivery, PlanRun
from supply.services.planning import plan_run_execute
from tests.booking.conftest import person, release_planned, tomorrow

pytestmark = pytest.mark.django_db


def local(moment):
    return timezone.localtime(moment)


def expire(hold):
    """Let a hold's time pass: its claim ends a second ago, as the clock would have it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE supply_appointment SET claimed_until = now() - interval '1 second'"
            " WHERE claim_token = %s",
            [hold.token],
        )


def total():
    return free_pairs(by="centre").total()


def test_a_hold_claims_the_pair_and_nobody_else_can(centre, comirnaty):
    before = total()
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")

    assert hold.second is not None and hold.first.second_id == hold.second_id
    assert local(hold.first.starts_at).date() == tomorrow()
    assert total() == before - 1
    claimed = Appointment.objects.filter(claim_token=hold.token)
    assert set(claimed.values_list("id", flat=True)) == {hold.first_id, hold.second_id}
    with pytest.raises(SlotTaken):
        hold_create(first_id=hold.first_id, owner="b")
    other = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="b")
    assert other.first_id != hold.first_id
    assert other.first.starts_at >= hold.first.starts_at  # the earliest free pair


def test_the_hold_lasts_the_configured_time(centre, comirnaty, settings):
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    left = hold.expires_at - timezone.now()
    assert timedelta(minutes=9, seconds=50) < left <= timedelta(minutes=10, seconds=1)


def test_an_expired_hold_is_free_again_at_once_without_any_job(centre, comirnaty):
    before = total()
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    expire(hold)

    assert total() == before
    again = hold_create(first_id=hold.first_id, owner="b")
    assert again.second_id == hold.second_id
    with pytest.raises(HoldExpired):
        booking_confirm(token=hold.token, person=person())


def test_a_hold_from_a_given_time_of_day(centre, comirnaty):
    hold = hold_create_next(
        centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a", after=time(14, 0)
    )
    assert local(hold.first.starts_at).time() >= time(14, 0)


def test_no_free_pair_on_a_closed_or_full_day(centre, comirnaty):
    with pytest.raises(NoFreePair):
        hold_create_next(
            centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow() + timedelta(days=365), owner="a"
        )


def test_a_new_hold_of_the_same_owner_ends_the_old_one(centre, comirnaty):
    first = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    second = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    # The old pair was free again and is the earliest (another pair may start at the same time).
    assert second.first.starts_at == first.first.starts_at
    assert hold_get(token=first.token).released_at is not None


def test_release_and_extend_once(centre, comirnaty):
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    extended = hold_extend(token=hold.token)
    assert extended.expires_at > hold.expires_at and extended.extended
    assert Appointment.objects.get(pk=hold.first_id).claimed_until == extended.expires_at
    with pytest.raises(HoldNotExtendable):
        hold_extend(token=hold.token)
    before = total()
    hold_release(token=hold.token)
    assert total() == before + 1
    with pytest.raises(HoldExpired):
        hold_extend(token=hold.token)


def test_choosing_another_second_dose_swaps_with_a_free_pair(centre, comirnaty):
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    per_day_before = sorted(Appointment.objects.values_list("starts_at", "dose"))
    options = second_dose_options(first=hold.first, current_second=hold.second)
    assert options
    low, high = second_dose_bounds(hold.first)
    assert all(low <= local(starts_at).date() <= high for starts_at, _count in options)
    old_second = hold.second
    target = options[0][0]

    changed = hold_change_second(token=hold.token, starts_at=target)

    assert changed.second.starts_at == target and changed.second_id != old_second.id
    assert Appointment.objects.get(pk=changed.first_id).second_id == changed.second_id
    assert Appointment.objects.get(pk=changed.second_id).claim_token == hold.token
    partner = Appointment.objects.get(second=old_second)  # the other pair took the old second dose
    interval = (local(old_second.starts_at).date() - local(partner.starts_at).date()).days
    assert comirnaty.interval_min_days <= interval <= comirnaty.interval_max_days
    assert sorted(Appointment.objects.values_list("starts_at", "dose")) == per_day_before  # same doses
    with pytest.raises(MoveNotPossible):
        hold_change_second(token=hold.token, starts_at=hold.first.starts_at)  # not a second-dose time


def test_old_hold_rows_are_purged_but_bookings_keep_theirs(centre, comirnaty):
    dead = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    kept = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="b")
    booking_confirm(token=kept.token, person=person())
    Hold.objects.update(expires_at=timezone.now() - timedelta(days=2))
    assert holds_purge() == 1
    assert list(Hold.objects.values_list("token", flat=True)) == [kept.token]
    assert dead.token != kept.token
    assert Schedule.objects.filter(func="booking.tasks.holds_purge", schedule_type=Schedule.HOURLY).exists()


def test_an_earlier_second_dose_day_by_rotation(centre, comirnaty):
    """The planner puts Comirnaty's second dose at 42 days, its maximum: an earlier day comes from
    a free first dose on that day, and our old second dose becomes a free first dose."""
    Delivery.objects.create(
        centre=centre, vaccine=comirnaty, date=tomorrow() + timedelta(days=24), doses=300, status="delivered"
    )
    run = PlanRun.objects.create(reason="test")
    plan_run_execute(run_id=run.pk, plan_from=tomorrow(), plan_to=tomorrow() + timedelta(days=40))
    release_planned()
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    old_second = hold.second
    current_day = local(old_second.starts_at).date()
    earlier = [
        t
        for t, _n in second_dose_options(first=hold.first, current_second=old_second)
        if local(t).date() < current_day
    ]
    assert earlier
    days_before = Counter(local(t).date() for t in Appointment.objects.values_list("starts_at", flat=True))
    free_before = total()

    changed = hold_change_second(token=hold.token, starts_at=earlier[0])

    new_second = Appointment.objects.get(pk=changed.second_id)
    assert (
        new_second.starts_at == earlier[0] and new_second.dose == 2 and new_second.claim_token == hold.token
    )
    assert Appointment.objects.get(pk=hold.first_id).second_id == new_second.id
    old_second.refresh_from_db()
    assert old_second.dose == 1 and old_second.claim_token is None and old_second.second_id is not None
    for first in (hold.first, old_second):
        first = Appointment.objects.select_related("second").get(pk=first.pk)
        days = (local(first.second.starts_at).date() - local(first.starts_at).date()).days
        assert comirnaty.interval_min_days <= days <= comirnaty.interval_max_days
    # Every appointment kept its day: doses and capacity per day are as planned.
    assert (
        Counter(local(t).date() for t in Appointment.objects.values_list("starts_at", flat=True))
        == days_before
    )
    assert total() == free_before
