"""Reads about centres: capacity per time step and per day, which the planner builds on."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

from centres.geo import distance_km, postcode_coordinates
from centres.models import Centre, Closure, OpeningHours


@dataclass(frozen=True)
class DayCapacity:
    """What a centre can do on one day: `per_step` appointments at each of `starts`."""

    centre_id: int
    day: date
    step_minutes: int
    per_step: int
    intervals: tuple[tuple[time, time], ...]
    closure_reason: str | None = None

    @property
    def starts(self) -> list[time]:
        """Start time of every time step; a step must end by closing time."""
        if not self.per_step:
            return []
        return [time(minute // 60, minute % 60) for minute in self.start_minutes]

    @property
    def start_minutes(self) -> tuple[int, ...]:
        """Start of every time step in minutes after midnight (what the planner works with)."""
        return _start_minutes(self.intervals, self.step_minutes) if self.per_step else ()

    @property
    def total(self) -> int:
        return len(self.start_minutes) * self.per_step

    @property
    def is_open(self) -> bool:
        return self.total > 0


@lru_cache(maxsize=1024)
def _start_minutes(intervals: tuple[tuple[time, time], ...], step_minutes: int) -> tuple[int, ...]:
    """Step starts of a day's opening intervals. Every week repeats the same few days, and
    computing them for each of a season's days was a tenth of a re-plan's Python time."""
    result = []
    for opens, closes in intervals:
        minute, end = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
        while minute + step_minutes <= end:
            result.append(minute)
            minute += step_minutes
    return tuple(result)


def day_capacities(
    *, centres: Iterable[Centre], start: date, end: date
) -> dict[tuple[int, date], DayCapacity]:
    """Capacity of each centre on each day from `start` to `end` inclusive, in two queries."""
    centres = list(centres)
    ids = [centre.id for centre in centres]
    hours: dict[tuple[int, int], list[tuple[time, time]]] = defaultdict(list)
    for row in OpeningHours.objects.filter(centre_id__in=ids).order_by("opens"):
        hours[row.centre_id, row.weekday].append((row.opens, row.closes))
    closures = {
        (row.centre_id, row.date): row.reason
        for row in Closure.objects.filter(centre_id__in=ids, date__range=(start, end))
    }
    result = {}
    for centre in centres:
        day = start
        while day <= end:
            closure_reason = closures.get((centre.id, day))
            open_today = centre.active and closure_reason is None
            result[centre.id, day] = DayCapacity(
                centre_id=centre.id,
                day=day,
                step_minutes=centre.minutes_per_vaccination,
                per_step=centre.lanes if open_today else 0,
                intervals=tuple(hours[centre.id, day.weekday()]),
                closure_reason=closure_reason,
            )
            day += timedelta(days=1)
    return result


def day_capacity(*, centre: Centre, day: date) -> DayCapacity:
    return day_capacities(centres=[centre], start=day, end=day)[centre.id, day]


def active_centres() -> list[Centre]:
    return list(Centre.objects.filter(active=True).order_by("name"))


def centres_with_day(*, day: date) -> list[tuple[Centre, DayCapacity]]:
    """Active centres with their opening hours and capacity on `day` (landing page)."""
    centres = active_centres()
    capacities = day_capacities(centres=centres, start=day, end=day)
    return [(centre, capacities[centre.id, day]) for centre in centres]


@dataclass(frozen=True)
class CentreDistance:
    """An active centre and its great-circle distance from the citizen's postcode."""

    centre: Centre
    km: float

    @property
    def km_rounded(self) -> int:
        """Whole kilometres for display, halves rounded up (round() would give 2 for 2.5)."""
        return math.floor(self.km + 0.5)


def centres_by_distance(*, postcode: str) -> list[CentreDistance]:
    """Active centres, nearest to `postcode` first (ties by name); raises PostcodeError subclasses.

    Distances are as the crow flies between the postcode's centre and the town's centre, not
    the venue or the road, which is close enough to tell a near centre from a far one.
    """
    origin = postcode_coordinates(postcode)
    result = [
        CentreDistance(
            centre=centre, km=distance_km(origin, (float(centre.latitude), float(centre.longitude)))
        )
        for centre in active_centres()
    ]
    return sorted(result, key=lambda item: (item.km, item.centre.name, item.centre.code))
