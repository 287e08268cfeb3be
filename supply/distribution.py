"""Splitting state-level deliveries (impfdashboard: doses for all of Saxony) across the centres.

Weights come from the distribution key maintained in the admin, or, while there is none, from
each centre's weekday capacity. Doses are split in whole vials by the largest-remainder method,
because a centre can only receive whole vials; the doses of a part-filled vial (the state total
need not be a multiple of the vial size) go to the next centre in the remainder order, so every
centre's amount is a whole number of vials except at most one per day and vaccine.

`split_doses` and `distribute` are pure; only the two weight functions read the database.
"""

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from centres.models import Centre
from centres.selectors import day_capacities
from supply.models import DistributionKey

# A Monday on which every centre was open with its regular weekday hours: the capacity share
# of a centre is its capacity on this day.
REFERENCE_DAY = date(2021, 4, 19)

K = TypeVar("K", bound=Hashable)


def capacity_weights() -> dict[int, int]:
    """Centre id -> appointments on the reference Monday, for every active centre."""
    centres = list(Centre.objects.filter(active=True).order_by("code"))
    capacities = day_capacities(centres=centres, start=REFERENCE_DAY, end=REFERENCE_DAY)
    return {centre.id: capacities[centre.id, REFERENCE_DAY].total for centre in centres}


def distribution_key_in_use() -> bool:
    return DistributionKey.objects.filter(centre__active=True).exists()


def distribution_weights() -> dict[int, int]:
    """Centre id -> weight for every active centre: its distribution key if any active centre
    has one (centres without a key then get 0), else its capacity share (`capacity_weights`)."""
    keys = dict(DistributionKey.objects.filter(centre__active=True).values_list("centre_id", "weight"))
    if not keys:
        return capacity_weights()
    ids = Centre.objects.filter(active=True).order_by("code").values_list("id", flat=True)
    return {centre_id: keys.get(centre_id, 0) for centre_id in ids}


def split_doses(total: int, weights: Mapping[K, int], doses_per_vial: int) -> dict[K, int]:
    """Split `total` doses (>= 0) by `weights` in whole vials, largest remainder first.

    Each key's quota is total * weight / sum(weights), counted in vials. Every key gets the
    whole vials of its quota; the vials left over go one each to the keys with the largest
    remainders, ties broken by key order (pass centre codes as keys); the doses that do not
    fill a vial go to the next key in that order. Keys with weight 0 get nothing.
    """
    if total < 0:
        raise ValueError("split_doses splits a non-negative total")
    if doses_per_vial < 1:
        raise ValueError("doses_per_vial must be at least 1")
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        raise ValueError("at least one weight must be positive")
    vials, part = divmod(total, doses_per_vial)
    # Exact arithmetic in integers: quota in vials = total * weight / (weight_sum * doses_per_vial).
    denominator = weight_sum * doses_per_vial
    result: dict[K, int] = {}
    order: list[tuple[int, K]] = []
    for key, weight in weights.items():
        whole, remainder = divmod(total * weight, denominator)
        result[key] = whole * doses_per_vial
        if weight > 0:
            order.append((-remainder, key))
    order.sort()
    spare = vials - sum(result.values()) // doses_per_vial
    # 0 <= spare < len(order), and with a part-filled vial the next key in line has a positive
    # remainder: the sum of the remainders is spare + part / doses_per_vial vials.
    for _remainder, key in order[:spare]:
        result[key] += doses_per_vial
    if part:
        result[order[spare][1]] += part
    return result


@dataclass(frozen=True)
class ReturnShortfall:
    """Doses of a return that could not be taken from a centre without its stock going below zero."""

    day: date
    vaccine: str
    centre: str
    wanted: int
    taken: int

    @property
    def missing(self) -> int:
        return self.wanted - self.taken


@dataclass
class Distribution:
    # (centre code, vaccine code, day) -> doses, zero amounts left out; negative: a return.
    doses: dict[tuple[str, str, date], int] = field(default_factory=dict)
    shortfalls: list[ReturnShortfall] = field(default_factory=list)


def distribute(
    *,
    totals: Mapping[tuple[date, str], int],
    weights: Mapping[str, int],
    doses_per_vial: Mapping[str, int],
    opening: Mapping[tuple[str, str], int] | None = None,
) -> Distribution:
    """Split state totals per (day, vaccine) across centres (weights by centre code).

    A negative total is a return: it is split the same way and taken off the centres, but
    never more than a centre holds: its cumulative doses of that vaccine (`opening`, the
    deliveries before the first day, plus everything distributed so far) stay >= 0. What
    cannot be taken is reported as a shortfall, not moved to another centre.
    """
    stock: defaultdict[tuple[str, str], int] = defaultdict(int, opening or {})
    result = Distribution()
    for day, vaccine in sorted(totals):
        total = totals[day, vaccine]
        shares = split_doses(abs(total), weights, doses_per_vial[vaccine])
        for centre in sorted(shares):
            share = shares[centre]
            if total >= 0:
                amount = share
            else:
                taken = min(share, max(stock[centre, vaccine], 0))
                if taken < share:
                    result.shortfalls.append(ReturnShortfall(day, vaccine, centre, wanted=share, taken=taken))
                amount = -taken
            stock[centre, vaccine] += amount
            if amount:
                result.doses[centre, vaccine, day] = amount
    return result
