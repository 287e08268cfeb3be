"""Holding a pair for a few minutes while someone enters their data (DESIGN invariants 1 and 5).

A hold is a claim on both appointment rows (booking/locking.py); it ends by itself when
`claimed_until` passes, so an abandoned hold needs no job: availability and the next claim
simply see the appointments as free again.
"""

import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from booking import locking
from booking.exceptions import (
    HoldExpired,
    HoldNotExtendable,
    HoldNotFound,
    MoveNotPossible,
    NoFreePair,
    SlotTaken,
)
from booking.models import Channel, Hold
from booking.selectors import local_midnight, rotation_candidates, swap_candidates
from supply.models import Appointment


@transaction.atomic(durable=True)
def hold_create(*, first_id: int, owner: str, channel: str = Channel.ONLINE) -> Hold:
    """Hold this first-dose appointment and its second dose for `owner` (a browser session or
    a hotline agent); the owner's other live holds end. Raises SlotTaken."""
    _end_holds_of(owner)
    token = uuid.uuid4()
    first_id, second_id, until = locking.claim_pair(first_id, token, settings.BOOKING_HOLD_MINUTES, channel)
    return Hold.objects.create(
        token=token, first_id=first_id, second_id=second_id, owner=owner, expires_at=until
    )


@transaction.atomic(durable=True)
def hold_create_next(
    *,
    centre_id: int,
    vaccine_id: int,
    day: date,
    owner: str,
    after: time | None = None,
    until: date | None = None,
    channel: str = Channel.ONLINE,
) -> Hold:
    """Hold the earliest free pair at a centre and vaccine on `day` (from `after` on), or on
    the days up to `until`; the hotline's own contingent first. Raises NoFreePair."""
    start = datetime.combine(day, after or time(0), tzinfo=local_midnight(day).tzinfo)
    end = local_midnight((until or day) + timedelta(days=1))
    hold = _hold_first_in(centre_id, vaccine_id, max(start, timezone.now()), end, owner, channel)
    if hold is None:
        raise NoFreePair()
    return hold


@transaction.atomic(durable=True)
def hold_create_at(
    *, centre_id: int, vaccine_id: int, starts_at: datetime, owner: str, channel: str = Channel.ONLINE
) -> Hold:
    """Hold a free pair whose first dose starts at `starts_at` (any of that time step's lanes;
    the hotline's contingent first). Raises SlotTaken."""
    if starts_at <= timezone.now():
        raise SlotTaken()
    hold = _hold_first_in(centre_id, vaccine_id, starts_at, starts_at + timedelta(seconds=1), owner, channel)
    if hold is None:
        raise SlotTaken()
    return hold


def _hold_first_in(centre_id, vaccine_id, start, end, owner, channel) -> Hold | None:
    _end_holds_of(owner)
    token = uuid.uuid4()
    claimed = locking.claim_next_pair(
        centre_id, vaccine_id, start, end, token, settings.BOOKING_HOLD_MINUTES, channel
    )
    if claimed is None:
        return None
    first_id, second_id, until = claimed
    return Hold.objects.create(
        token=token, first_id=first_id, second_id=second_id, owner=owner, expires_at=until
    )


def _end_holds_of(owner: str) -> None:
    """One person holds one pair: choosing again gives the previous pair back first."""
    for other in Hold.objects.select_for_update().filter(
        owner=owner, booking__isnull=True, released_at__isnull=True
    ):
        _unclaim(other)


@transaction.atomic(durable=True)
def hold_extend(*, token) -> Hold:
    """Give a live hold another full hold time on top of what is left, once."""
    hold = _live(token)
    if hold.extended:
        raise HoldNotExtendable()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE supply_appointment SET claimed_until = claimed_until + make_interval(mins => %s)"
            " WHERE claim_token = %s AND claimed_until >= now() AND NOT booked RETURNING claimed_until",
            [settings.BOOKING_HOLD_MINUTES, token],
        )
        rows = cursor.fetchall()
    if not rows:
        raise HoldExpired()
    hold.expires_at, hold.extended = rows[0][0], True
    hold.save(update_fields=["expires_at", "extended"])
    return hold


@transaction.atomic(durable=True)
def hold_release(*, token) -> None:
    """End a hold now (the person went back or chose another pair); its appointments are free at once."""
    hold = Hold.objects.select_for_update().filter(token=token).first()
    if hold is None:
        raise HoldNotFound()
    if hold.booking_id is None and hold.released_at is None:
        _unclaim(hold)


def _unclaim(hold: Hold) -> None:
    Appointment.objects.filter(claim_token=hold.token, booked=False).update(
        claim_token=None, claimed_until=None
    )
    hold.released_at = timezone.now()
    hold.save(update_fields=["released_at"])


@transaction.atomic(durable=True)
def hold_change_second(*, token, starts_at: datetime) -> Hold:
    """Give a live hold another free second-dose appointment at `starts_at`, by a swap or a
    rotation with a free pair (swap_seconds). Raises HoldExpired, MoveNotPossible."""
    hold = _live(token)
    if hold.second_id is None:
        raise MoveNotPossible()
    if not locking.lock_held(hold.token, hold.appointment_ids):
        raise HoldExpired()
    new_second = swap_seconds(hold.first, hold.second, starts_at)
    Appointment.objects.filter(pk=new_second).update(claim_token=hold.token, claimed_until=hold.expires_at)
    Appointment.objects.filter(pk=hold.second_id).update(claim_token=None, claimed_until=None)
    hold.second_id = new_second
    hold.save(update_fields=["second"])
    return hold


def swap_seconds(first: Appointment, current_second: Appointment, starts_at: datetime) -> int:
    """Give `first` a second dose at `starts_at` from a free pair, by a swap or a rotation
    (booking.selectors.second_dose_options); returns the new second dose's id. Precondition:
    `first` and `current_second` are locked by the caller. No appointment is added or removed
    and each keeps its day, so doses and capacity stay as planned; both pairs stay within the
    vaccine's interval. Raises MoveNotPossible.
    """
    for other_first, other_second in swap_candidates(
        first=first, current_second=current_second, starts_at=starts_at
    ):
        if locking.claim_free_pair_rows(other_first, other_second):
            # Three steps: a second dose belongs to one first dose at any moment (unique second_id).
            Appointment.objects.filter(pk=other_first).update(second=None)
            Appointment.objects.filter(pk=first.pk).update(second=other_second)
            Appointment.objects.filter(pk=other_first).update(second=current_second.pk)
            return other_second
    for other_first, other_second in rotation_candidates(
        first=first, current_second=current_second, starts_at=starts_at
    ):
        if locking.claim_free_pair_rows(other_first, other_second):
            # The other pair's first dose becomes our second dose; our old second dose becomes
            # a first dose with the other pair's second dose (same interval, in days, as ours).
            Appointment.objects.filter(pk=other_first).update(second=None, dose=2)
            Appointment.objects.filter(pk=first.pk).update(second=other_first)
            Appointment.objects.filter(pk=current_second.pk).update(second=other_second, dose=1)
            return other_first
    raise MoveNotPossible()


def _live(token) -> Hold:
    hold = (
        Hold.objects.select_for_update(of=("self",))
        .select_related("first__vaccine", "second")
        .filter(token=token)
        .first()
    )
    if hold is None:
        raise HoldNotFound()
    if hold.booking_id is not None or hold.released_at is not None or hold.expires_at <= timezone.now():
        raise HoldExpired()
    return hold


def holds_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete hold rows that ended long ago and never became a booking. Housekeeping only:
    whether an appointment is free never depends on these rows (it is on the appointment)."""
    cutoff = timezone.now() - older_than
    deleted, _by_model = Hold.objects.filter(booking__isnull=True, expires_at__lt=cutoff).delete()
    return deleted
