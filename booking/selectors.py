"""Reads of the booking app. `free_pairs` is the one availability selector (DESIGN invariant 7):
the booking pages, the live overview and the hotline API all count with it, and it counts with
the very SQL condition the claims in booking/locking.py lock with."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.codes import clean_code, identity
from booking.exceptions import BookingNotFound, HoldNotFound
from booking.locking import free
from booking.models import Booking, Hold, PriorityGroup, Registration
from supply.models import Appointment, Vaccine

TZ = ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


# --- Availability -------------------------------------------------------------------------


@dataclass(frozen=True)
class FreePairs:
    """Free whole pairs (a first dose with its second dose) per key, and when that was counted."""

    counts: dict[tuple, int]
    computed_at: datetime

    def total(self) -> int:
        return sum(self.counts.values())


def free_pairs(
    *,
    by: str = "day",
    centre_ids: list[int] | None = None,
    vaccine_ids: list[int] | None = None,
    start: date | None = None,
    end: date | None = None,
    channel: str = "online",
) -> FreePairs:
    """Free pairs whose first dose starts from now (and `start`) to before `end`, counted per
    (centre, vaccine) with by="centre", per (centre, vaccine, day) with by="day", or per
    (centre, vaccine, starts_at) with by="time". Held, booked and unreleased appointments are
    not free, nor online the hotline's contingent; a pair counts only if its second dose is free
    too.
    """
    group = {
        "centre": "",
        "day": ", (f.starts_at AT TIME ZONE %s)::date",
        "time": ", f.starts_at",
    }[by]
    params: list = [settings.TIME_ZONE] if by == "day" else []
    where = [
        "f.dose = 1",
        free("f", channel),
        "f.starts_at >= now()",
        f"(f.second_id IS NULL OR {free('s', channel)})",
    ]
    _scope(where, params, centre_ids, vaccine_ids, start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT f.centre_id, f.vaccine_id{group}, count(*), now()
            FROM supply_appointment f
            LEFT JOIN supply_appointment s ON s.id = f.second_id AND s.centre_id = f.centre_id
            WHERE {" AND ".join(where)}
            GROUP BY 1, 2{", 3" if group else ""}
            """,
            params,
        )
        rows = cursor.fetchall()
        if rows:
            computed_at = rows[0][-1]
        else:
            cursor.execute("SELECT now()")
            computed_at = cursor.fetchone()[0]
    return FreePairs({tuple(row[:-2]): row[-2] for row in rows}, computed_at)


def held_pairs(
    *,
    centre_ids: list[int] | None = None,
    vaccine_ids: list[int] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> int:
    """Pairs held right now (not booked): they may yet come back free (the waiting room does not
    call a release sold out while any are held)."""
    where = ["f.dose = 1", "NOT f.booked", "f.claimed_until >= now()", "f.starts_at >= now()"]
    params: list = []
    _scope(where, params, centre_ids, vaccine_ids, start, end)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM supply_appointment f WHERE {' AND '.join(where)}", params)
        return cursor.fetchone()[0]


def _scope(where: list, params: list, centre_ids, vaccine_ids, start, end) -> None:
    """Narrow first doses `f` to centres, vaccines and days [start, end)."""
    if start is not None:
        where.append("f.starts_at >= %s")
        params.append(local_midnight(start))
    if end is not None:
        where.append("f.starts_at < %s")
        params.append(local_midnight(end))
    if centre_ids is not None:
        where.append("f.centre_id = ANY(%s)")
        params.append(list(centre_ids))
    if vaccine_ids is not None:
        where.append("f.vaccine_id = ANY(%s)")
        params.append(list(vaccine_ids))


# --- Eligibility ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    age: int
    group: PriorityGroup | None
    by_declaration: bool
    vaccine_ids: list[int] = field(default_factory=list)
    reason: str = ""


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def open_groups(on: date) -> list[PriorityGroup]:
    return list(PriorityGroup.objects.filter(open_from__lte=on).order_by("number"))


def vaccine_age_ranges(on: date) -> list[tuple[Vaccine, int, int | None]]:
    """Active vaccines with the ages their rule in force on `on` admits, (vaccine, min, max or
    None); a vaccine without a rule yet is not approved and not listed."""
    ranges = []
    for vaccine in Vaccine.objects.filter(active=True).prefetch_related("age_rules").order_by("id"):
        rules = [rule for rule in vaccine.age_rules.all() if rule.valid_from <= on]
        if rules:
            rule = max(rules, key=lambda r: r.valid_from)
            ranges.append((vaccine, rule.min_age, rule.max_age))
    return ranges


def vaccines_for_age(age: int, on: date) -> list[Vaccine]:
    """Active vaccines whose age rule in force on `on` admits `age` (no rule yet: not approved)."""
    return [
        vaccine
        for vaccine, low, high in vaccine_age_ranges(on)
        if low <= age and (high is None or age <= high)
    ]


def eligibility(
    *, birth_date: date, declared_group: int | None = None, on: date | None = None
) -> Eligibility:
    """Whether someone born on `birth_date` may book on `on` (today), by age or by declaring
    membership of an open group (the proof is checked at the centre), and which vaccines their
    age allows."""
    on = on or timezone.localdate()
    age = age_on(birth_date, on)
    groups = open_groups(on)
    by_age = next((g for g in groups if g.min_age is not None and age >= g.min_age), None)
    declared = next((g for g in groups if declared_group is not None and g.number == declared_group), None)
    group = min([g for g in (by_age, declared) if g], key=lambda g: g.number, default=None)
    vaccines = vaccines_for_age(age, on)
    if group is None:
        return Eligibility(False, age, None, False, [], _not_open_reason(age, groups))
    if not vaccines:
        reason = _("Für Ihr Alter ({age} Jahre) ist derzeit kein Impfstoff zugelassen.").format(age=age)
        return Eligibility(False, age, group, group is not by_age, [], reason)
    return Eligibility(True, age, group, group is not by_age, [v.id for v in vaccines])


def _not_open_reason(age: int, groups: list[PriorityGroup]) -> str:
    ages = sorted({g.min_age for g in groups if g.min_age is not None})
    if not groups:
        return _("Zurzeit ist keine Gruppe zur Buchung freigegeben.")
    if ages:
        return _(
            "Zurzeit können Menschen ab {min_age} Jahren buchen; Sie sind {age} Jahre alt. "
            "Wenn Sie wegen Ihres Berufs oder einer Erkrankung zu einer freigegebenen Gruppe gehören, "
            "wählen Sie diese bitte aus."
        ).format(min_age=ages[-1] if len(ages) == 1 else min(ages), age=age)
    return _("Zurzeit können nur Menschen aus den freigegebenen Gruppen buchen.")


# --- Holds, bookings and second doses -----------------------------------------------------


def hold_get(*, token) -> Hold:
    try:
        return Hold.objects.select_related("first__centre", "first__vaccine", "second", "booking").get(
            token=token
        )
    except Hold.DoesNotExist:
        raise HoldNotFound() from None


def hold_owner(*, token) -> str:
    """Whose hold this is (a browser session, an admission, a hotline agent); HoldNotFound."""
    owner = Hold.objects.filter(token=token).values_list("owner", flat=True).first()
    if owner is None:
        raise HoldNotFound()
    return owner


def booking_lookup(*, code: str, birth_date: date) -> Booking:
    """The booking with this code, if the birth date matches; the same error either way, so
    that trying codes tells nothing."""
    booking = (
        Booking.objects.select_related("person", "first__centre", "first__vaccine", "second")
        .filter(code=clean_code(code), person__birth_date=birth_date)
        .first()
    )
    if booking is None:
        raise BookingNotFound()
    return booking


def second_dose_bounds(first: Appointment) -> tuple[date, date]:
    """The days a second dose of `first` may lie on (the vaccine's minimum..maximum interval)."""
    day = timezone.localtime(first.starts_at).date()
    vaccine = first.vaccine
    return day + timedelta(days=vaccine.interval_min_days), day + timedelta(days=vaccine.interval_max_days)


def _partner_first_days(first: Appointment, current_second: Appointment) -> tuple[date, date]:
    """The days another pair's first dose may lie on to accept `current_second` as its own
    second dose: the current second dose's day minus the maximum .. minus the minimum interval."""
    vaccine = first.vaccine
    day = timezone.localtime(current_second.starts_at).date()
    return day - timedelta(days=vaccine.interval_max_days), day - timedelta(days=vaccine.interval_min_days)


_SWAPPABLE = """
    FROM supply_appointment s JOIN supply_appointment f ON f.second_id = s.id
    WHERE s.centre_id = %s AND s.vaccine_id = %s AND s.dose = 2 AND {free_s} AND s.id <> %s
      AND s.starts_at >= %s AND s.starts_at < %s AND s.starts_at >= now()
      AND f.centre_id = %s AND {free_f} AND f.starts_at >= %s AND f.starts_at < %s AND f.starts_at >= now()
"""


def _swappable(first: Appointment, current_second: Appointment, low: datetime, high: datetime):
    """SQL and parameters: free pairs whose second dose starts in [low, high) and whose first
    dose accepts `current_second` (see second_dose_options)."""
    other_low, other_high = _partner_first_days(first, current_second)
    params = [
        first.centre_id,
        first.vaccine_id,
        current_second.id,
        low,
        high,
        first.centre_id,
        local_midnight(other_low),
        local_midnight(other_high + timedelta(days=1)),
    ]
    return _SWAPPABLE.format(free_s=free("s"), free_f=free("f")), params


_ROTATABLE = """
    FROM supply_appointment f JOIN supply_appointment s ON s.id = f.second_id
    WHERE f.centre_id = %s AND f.vaccine_id = %s AND f.dose = 1 AND {free_f} AND f.id <> %s
      AND f.starts_at >= %s AND f.starts_at < %s AND f.starts_at >= now()
      AND s.centre_id = %s AND {free_s} AND s.starts_at >= %s AND s.starts_at < %s
"""


def _rotatable(first: Appointment, current_second: Appointment, low: datetime, high: datetime):
    """SQL and parameters: free pairs whose first dose starts in [low, high) and whose second
    dose lies within the interval after `current_second` (see second_dose_options)."""
    vaccine = first.vaccine
    day = timezone.localtime(current_second.starts_at).date()
    params = [
        first.centre_id,
        first.vaccine_id,
        first.id,
        low,
        high,
        first.centre_id,
        local_midnight(day + timedelta(days=vaccine.interval_min_days)),
        local_midnight(day + timedelta(days=vaccine.interval_max_days + 1)),
    ]
    return _ROTATABLE.format(free_f=free("f"), free_s=free("s")), params


def second_dose_options(*, first: Appointment, current_second: Appointment) -> list[tuple[datetime, int]]:
    """Other free second-dose times for `first`, within its interval, as (starts_at, count).

    Second doses are planned with their first doses, so another second dose comes from a free
    pair, in one of two ways that keep every pair within its interval and every appointment on
    its day (the doses and capacity per day stay as planned, DESIGN invariant 3):
    - a swap: the free pair's second dose becomes ours, and its first dose takes our current
      second dose (offered where that first dose accepts it);
    - a rotation: the free pair's first dose becomes our second dose, and our current second dose
      becomes a free first dose with the pair's second dose (offered where that interval fits).
    The planner puts second doses at the target interval, often also the maximum: then swaps
    only reach the same day, and rotations reach the earlier days.
    """
    low, high = second_dose_bounds(first)
    window = (local_midnight(low), local_midnight(high + timedelta(days=1)))
    swap_sql, swap_params = _swappable(first, current_second, *window)
    rotate_sql, rotate_params = _rotatable(first, current_second, *window)
    counts: dict[datetime, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.starts_at, count(*) {swap_sql} GROUP BY 1", swap_params)
        rows = cursor.fetchall()
        cursor.execute(f"SELECT f.starts_at, count(*) {rotate_sql} GROUP BY 1", rotate_params)
        rows += cursor.fetchall()
    for starts_at, count in rows:
        counts[starts_at] = counts.get(starts_at, 0) + count
    return sorted(counts.items())


def swap_candidates(
    *, first: Appointment, current_second: Appointment, starts_at: datetime
) -> list[tuple[int, int]]:
    """Free pairs (first id, second id) to swap second doses with, whose second dose starts at
    `starts_at`; empty if that time is not an option."""
    return _candidates(_swappable, "f.id, s.id", first, current_second, starts_at)


def rotation_candidates(
    *, first: Appointment, current_second: Appointment, starts_at: datetime
) -> list[tuple[int, int]]:
    """Free pairs (first id, second id) to rotate with, whose first dose starts at `starts_at`."""
    return _candidates(_rotatable, "f.id, s.id", first, current_second, starts_at)


def _candidates(query, columns, first, current_second, starts_at):
    low, high = second_dose_bounds(first)
    if not low <= timezone.localtime(starts_at).date() <= high:
        return []
    sql, params = query(first, current_second, starts_at, starts_at + timedelta(seconds=1))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {sql} ORDER BY f.starts_at DESC LIMIT 10", params)
        return cursor.fetchall()


def booking_for_person(*, identity: str) -> Booking | None:
    return Booking.objects.filter(identity=identity, status=Booking.Status.ACTIVE).first()


def registrations_for(*, first_name: str, last_name: str, birth_date: date):
    """Registrations of the person with this name and birth date (normalised as for invariant
    6: case, accents and spacing do not matter), newest first."""
    key = identity(first_name, last_name, birth_date)
    return (
        Registration.objects.select_related("person", "priority_group")
        .filter(person__identity=key)
        .order_by("-created_at", "-id")
    )
