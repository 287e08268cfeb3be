"""The planner: turns counted stock and centre capacity into first/second-dose pairs.

Pure functions over plain data, no database: services/planning.py loads the inputs and
writes the result, and the 2021 replay runs the same code in memory. Centres share
nothing (deliveries and capacity are per centre), so each is planned on its own.

Doses (DESIGN invariant 3). For each vaccine, `slack[t]` is the counted deliveries up to day
t minus the doses of all appointments up to day t. The plan is valid while slack never
goes below zero. A pair with its first dose on day i and its second on day j uses one dose
from i on and two from j on, so k pairs need slack >= k on [i, j) and >= 2k from j on.
Existing appointments are subtracted before anything new is planned, so their second
doses are covered before a new first dose is offered.

Capacity. A day offers `lanes` appointments at each of its time steps, shared by all
vaccines; counting per day suffices here, because `assign_times` can always place a day's
appointments on free steps when their number fits the day.

Vials. An opened vial must be used the same day, so the slack is charged in whole opened
vials, not in doses: the doses of a centre, vaccine and day cost ceil(doses / per vial)
vials. Second doses therefore reserve their vial when they are placed, and what remains of
an opened vial (reported as leftover) never counts as stock. First doses are rounded to
whole vials by dropping those of a part-filled vial, unless that vial is opened for second
doses anyway; then it is filled with first doses as far as stock allows. Shortfall alerts
compare appointment doses with deliveries, as DESIGN invariant 3 states it.
"""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

LIMIT_STOCK = "stock"
LIMIT_CAPACITY = "capacity"
LIMIT_VIALS = "vials"


@dataclass(frozen=True)
class VaccineSpec:
    id: int
    code: str
    doses_per_vial: int
    two_doses: bool
    interval_min: int = 0
    interval_target: int = 0
    interval_max: int = 0


@dataclass
class CentreInput:
    """Everything the planner needs for one centre. Day 0 is the first day to plan.

    `plan_days` days may get new first doses; the arrays run `days` long so that their
    second doses (up to the longest interval later) fit. `opening[v]` is the counted
    deliveries before day 0 minus the doses of all appointments before day 0.
    """

    vaccines: list[VaccineSpec]
    plan_days: int
    days: int
    capacity: np.ndarray  # appointments per day, all vaccines together
    deliveries: dict[int, np.ndarray]  # counted doses arriving per day, per vaccine
    fixed_doses: dict[int, np.ndarray]  # doses of kept appointments per day, per vaccine
    fixed_per_day: np.ndarray  # kept appointments per day, all vaccines
    opening: dict[int, int] = field(default_factory=dict)


@dataclass
class Shortfall:
    vaccine_id: int
    first_day: int
    last_day: int
    doses: int


@dataclass
class CountPlan:
    """New pairs as groups (vaccine, first day, second day or None, count), and per-day figures."""

    groups: list[tuple[int, int, int | None, int]]
    firsts: dict[int, np.ndarray]  # new first doses per day
    seconds: dict[int, np.ndarray]  # new second doses per day
    leftover: dict[int, np.ndarray]  # doses left in opened vials per day (kept and new appointments)
    limit: list[str | None]  # what limited each plan day's first doses
    shortfalls: list[Shortfall]


def plan_counts(inp: CentreInput) -> CountPlan:
    vaccines = sorted(inp.vaccines, key=lambda v: v.id)
    n = inp.days
    shortfalls = _shortfalls(
        {
            v.id: inp.opening.get(v.id, 0) + np.cumsum(inp.deliveries[v.id] - inp.fixed_doses[v.id])
            for v in vaccines
        }
    )
    days = {v.id: _Doses(v, inp, n) for v in vaccines}
    free = (inp.capacity - inp.fixed_per_day).clip(min=0).astype(np.int64)
    firsts = {v.id: np.zeros(n, np.int64) for v in vaccines}
    seconds = {v.id: np.zeros(n, np.int64) for v in vaccines}
    groups: list[tuple[int, int, int | None, int]] = []
    limits: list[str | None] = []

    for day in range(inp.plan_days):
        wanted = {v.id: _place(v, day, None, days[v.id].copy(), free.copy(), None, None) for v in vaccines}
        granted = _share(int(free[day]), wanted)
        day_limit = None
        for v in vaccines:
            if not granted[v.id]:
                continue
            target = _round_to_vials(int(days[v.id].given[day]), granted[v.id], v.doses_per_vial)
            placed = _place(v, day, target, days[v.id], free, seconds[v.id], groups)
            firsts[v.id][day] = placed
            free[day] -= placed
            if wanted[v.id] > granted[v.id]:
                day_limit = LIMIT_CAPACITY
            elif target < granted[v.id] and day_limit is None:
                day_limit = LIMIT_VIALS
        limits.append(day_limit or LIMIT_STOCK)
    leftover = {v.id: -days[v.id].given % v.doses_per_vial for v in vaccines}
    return CountPlan(groups, firsts, seconds, leftover, limits, shortfalls)


class _Doses:
    """One vaccine's doses per day at a centre (`given`) and the slack left, charged in vials."""

    def __init__(self, vaccine: VaccineSpec, inp: CentreInput | None, days: int):
        self.per_vial = vaccine.doses_per_vial
        if inp is None:
            return
        self.given = inp.fixed_doses[vaccine.id].astype(np.int64)
        charged = self._vials(self.given)
        self.slack = inp.opening.get(vaccine.id, 0) + np.cumsum(inp.deliveries[vaccine.id] - charged)

    def _vials(self, doses):
        return -(-doses // self.per_vial) * self.per_vial

    def charge(self, day: int, extra: int) -> int:
        """Doses of stock that `extra` more appointments on `day` take: whole vials."""
        given = int(self.given[day])
        return int(self._vials(given + extra) - self._vials(given))

    def most_within(self, day: int, budget: int) -> int:
        """The most appointments `day` can take for `budget` doses of stock (closed form of charge)."""
        if budget < 0:
            return 0
        given = int(self.given[day])
        spare = -given % self.per_vial  # doses left in the day's opened vial
        return spare + budget // self.per_vial * self.per_vial

    def add(self, day: int, count: int) -> int:
        cost = self.charge(day, count)
        self.slack[day:] -= cost
        self.given[day] += count
        return cost

    def copy(self) -> "_Doses":
        twin = _Doses(VaccineSpec(0, "", self.per_vial, False), None, 0)
        twin.given, twin.slack = self.given.copy(), self.slack.copy()
        return twin


def _shortfalls(balance: dict[int, np.ndarray]) -> list[Shortfall]:
    result = []
    for vaccine_id, values in balance.items():
        short = np.flatnonzero(values < 0)
        if short.size:
            result.append(Shortfall(vaccine_id, int(short[0]), int(short[-1]), int(-values.min())))
    return result


def _share(available: int, wanted: dict[int, int]) -> dict[int, int]:
    """Split a day's free capacity among vaccines in proportion to what stock allows."""
    total = sum(wanted.values())
    if total <= available:
        return dict(wanted)
    shares = {vid: want * available // total for vid, want in wanted.items()}
    rest = available - sum(shares.values())
    by_remainder = sorted(wanted, key=lambda vid: (-(wanted[vid] * available % total), vid))
    for vid in by_remainder[:rest]:
        shares[vid] += 1
    return shares


def _round_to_vials(given: int, firsts: int, per_vial: int) -> int:
    total = given + firsts
    whole = total - total % per_vial
    if whole >= given:
        return whole - given
    return firsts  # the last vial is opened for second doses anyway: fill it


def _second_days(vaccine: VaccineSpec, day: int, days: int):
    """Second-dose days in order of preference: the target, then ever further from it."""
    low, high = day + vaccine.interval_min, day + vaccine.interval_max
    target = day + vaccine.interval_target
    for distance in range(max(target - low, high - target) + 1):
        for candidate in (target - distance, target + distance) if distance else (target,):
            if low <= candidate <= high and candidate < days:
                yield candidate


def _largest(upper: int, fits) -> int:
    """The largest count in 0..upper for which `fits` holds (`fits` is monotone)."""
    if upper <= 0 or fits(upper):
        return max(upper, 0)
    low, high = 0, upper - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _place(vaccine, day, limit, doses: _Doses, free, seconds, groups) -> int:
    """Place up to `limit` new first doses (all that fit if None) of `vaccine` on `day`.

    With `groups` None this is a dry run (the caller passes copies): it says how many fit.
    """
    dry = groups is None
    upper = int(free[day]) if limit is None else limit
    if not vaccine.two_doses:
        count = min(upper, doses.most_within(day, int(doses.slack[day:].min())))
        if count:
            doses.add(day, count)
            if not dry:
                groups.append((vaccine.id, day, None, count))
        return count
    placed = 0
    for second in _second_days(vaccine, day, len(doses.slack)):
        room = min(int(free[second]), upper - placed)
        if room <= 0:
            if placed >= upper:
                break
            continue
        until_second = int(doses.slack[day:second].min())
        from_second = int(doses.slack[second:].min())
        # Bounds from each constraint alone; usually they are the answer, checked by `fits`.
        room = min(
            room,
            doses.most_within(day, until_second),
            (doses.most_within(day, from_second) + doses.most_within(second, from_second)) // 2,
        )

        def fits(count, second=second, until_second=until_second, from_second=from_second):
            first_cost = doses.charge(day, count)
            return first_cost <= until_second and first_cost + doses.charge(second, count) <= from_second

        count = _largest(room, fits)
        if not count:
            continue
        doses.add(day, count)
        doses.add(second, count)
        free[second] -= count
        placed += count
        if not dry:
            seconds[second] += count
            groups.append((vaccine.id, day, second, count))
    return placed


# --- Times ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaySteps:
    """A day's time steps (start minute of each) and the free lanes at each."""

    minutes: tuple[int, ...]
    free: tuple[int, ...]


def assign_times(
    plan: CountPlan, steps: list[DaySteps]
) -> list[tuple[int, int, int, int | None, int | None, int]]:
    """Give every new appointment a time step: (vaccine, day, minute, second day, second minute, count).

    Days are processed in order. A day's second doses come first, each as near as possible to
    the time of day of its first dose (people keep their routine); first doses then take the
    earliest free steps.
    """
    free = [list(day.free) for day in steps]
    by_first_day = defaultdict(list)
    for group in plan.groups:
        by_first_day[group[1]].append(group)
    seconds_due = defaultdict(list)  # day -> [(first minute, vaccine, first day, count)]
    result = []
    for day in range(len(steps)):
        minutes, day_free = steps[day].minutes, free[day]
        for first_minute, vaccine_id, first_day, count in sorted(seconds_due.pop(day, [])):
            # Usually the same time of day is free: taken directly, without walking outwards.
            index = bisect_left(minutes, first_minute)
            if index < len(minutes) and minutes[index] == first_minute and day_free[index] >= count:
                day_free[index] -= count
                result.append((vaccine_id, first_day, first_minute, day, first_minute, count))
                continue
            for second_minute, taken in _take_near(minutes, day_free, first_minute, count):
                result.append((vaccine_id, first_day, first_minute, day, second_minute, taken))
        for vaccine_id, _, second_day, count in by_first_day.pop(day, []):
            for minute, taken in _take_earliest(steps[day].minutes, free[day], count):
                if second_day is None:
                    result.append((vaccine_id, day, minute, None, None, taken))
                else:
                    seconds_due[second_day].append((minute, vaccine_id, day, taken))
    if seconds_due or by_first_day:
        raise ValueError("appointments planned on days without time steps")
    return result


def _take_earliest(minutes, free, count):
    for index, lanes in enumerate(free):
        if count == 0:
            return
        taken = min(lanes, count)
        if taken:
            free[index] -= taken
            count -= taken
            yield minutes[index], taken
    if count:
        raise ValueError("more appointments than free time steps")


def _take_near(minutes, free, wanted_minute, count):
    """Free steps by distance from `wanted_minute`, walking outwards (earlier first on a tie)."""
    right = bisect_left(minutes, wanted_minute)
    left = right - 1
    while count:
        while left >= 0 and not free[left]:
            left -= 1
        while right < len(minutes) and not free[right]:
            right += 1
        if left < 0 and right == len(minutes):
            raise ValueError("more second doses than free time steps")
        use_left = right == len(minutes) or (
            left >= 0 and wanted_minute - minutes[left] <= minutes[right] - wanted_minute
        )
        index = left if use_left else right
        taken = min(free[index], count)
        free[index] -= taken
        count -= taken
        yield minutes[index], taken
