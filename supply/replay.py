"""Replaying Saxony's 2021 deliveries with the planner, day by day (`replay_saxony_2021`).

For each day P of the season the planner decides P's first doses with what was known
`release_days + 1` days before (appointments were released and booked about a week ahead):
deliveries up to that day as delivered, those of the next `forecast_weeks` as forecasts that
are off by a seeded random error and count by the forecast share, later ones not at all.
The first doses of P and their second doses are then kept, as bookings would keep them.

Because the planner works forward day by day, its decisions for P do not depend on later
days' first doses: planning P alone gives what a full plan would give for P.

The physical side follows the real deliveries: doses arrive, the day's second doses are
given first, then its first doses; an opened vial's rest is waste. Doses missing for a kept
second dose are counted as `second_short`. A return (the AstraZeneca rows of August) sends
back surplus only, never doses that kept appointments still need: logistics staff would not
ship away the second doses of people already booked.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from centres.models import Centre
from centres.selectors import day_capacities
from supply import parsers, planner
from supply.distribution import capacity_weights, distribute
from supply.models import Vaccine
from supply.services.planning import vaccine_spec

DATA = Path(__file__).resolve().parent / "data"
DELIVERIES_FILE = DATA / "saxony_deliveries_impfdashboard_2020-12_to_2021-09.tsv"
RKI_FILE = DATA / "saxony_vaccinations_per_day_rki_2020-12_to_2021-12.csv"
KEYS = [
    "delivered",
    "first_offered",
    "second_offered",
    "shelf_doses",
    "shelf_days",
    "second_short",
    "vial_leftover",
    "capacity_limited",
    "given_in_saxony",
]


@dataclass(frozen=True)
class ReplayOptions:
    start: date = date(2020, 12, 27)
    end: date = date(2021, 9, 30)
    forecast_weeks: int = 12
    error_percent: int = 20
    forecast_share_percent: int = 80
    release_days: int = 7
    seed: int = 2021
    # Scales every centre's capacity: shows what the plan would do with more lanes or hours.
    capacity_percent: int = 100


def replay(options: ReplayOptions, *, progress=None) -> dict:
    """Run the replay; returns {"months": [...], "totals": {...}, "options": {...}}."""
    centres = list(Centre.objects.filter(active=True).order_by("code"))
    vaccines = list(Vaccine.objects.filter(active=True).order_by("id"))
    days = (options.end - options.start).days + 1
    actual = _deliveries(centres, vaccines, options, days)
    factors = _forecast_errors(actual, options)
    capacities = day_capacities(centres=centres, start=options.start, end=options.end)
    capacity = {
        c.id: np.array(
            [
                capacities[c.id, options.start + timedelta(days=i)].total * options.capacity_percent // 100
                for i in range(days)
            ]
        )
        for c in centres
    }
    specs = [vaccine_spec(v) for v in vaccines]

    # Kept appointments per centre and vaccine: doses per day (first and second doses).
    kept = {(c.id, v.id): np.zeros(days, np.int64) for c in centres for v in vaccines}
    kept_firsts = {(c.id, v.id): np.zeros(days, np.int64) for c in centres for v in vaccines}
    kept_seconds = {(c.id, v.id): np.zeros(days, np.int64) for c in centres for v in vaccines}
    stock = defaultdict(int)
    month_rows: dict[str, dict] = {}
    capacity_days = defaultdict(int)

    for day in range(days):
        known = max(0, day - options.release_days - 1)
        for centre in centres:
            plan = planner.plan_counts(
                _centre_input(
                    centre, specs, day, days, known, actual, factors, kept, capacity[centre.id], options
                )
            )
            for vaccine_id, _, second_day, count in plan.groups:
                kept[centre.id, vaccine_id][day] += count
                kept_firsts[centre.id, vaccine_id][day] += count
                if second_day is not None:
                    kept[centre.id, vaccine_id][day + second_day] += count
                    kept_seconds[centre.id, vaccine_id][day + second_day] += count
            if plan.limit and plan.limit[0] == planner.LIMIT_CAPACITY:
                capacity_days[_month(options, day)] += 1
        row = month_rows.setdefault(_month(options, day), dict.fromkeys(KEYS, 0) | {"days": 0, "used": 0})
        row["days"] += 1
        for centre in centres:
            for vaccine in vaccines:
                key = (centre.id, vaccine.id)
                arriving = int(actual[key][day])
                if arriving < 0:
                    # A return sends back surplus: never doses that kept appointments still need.
                    reserved = int(kept[key][day:].sum())
                    arriving = -min(-arriving, max(stock[key] - reserved, 0))
                stock[key] += arriving
                seconds, firsts = int(kept_seconds[key][day]), int(kept_firsts[key][day])
                given_seconds = min(seconds, max(stock[key], 0))
                given_firsts = min(firsts, max(stock[key] - given_seconds, 0))
                used = given_seconds + given_firsts
                waste = min(-used % vaccine.doses_per_vial, max(stock[key] - used, 0))
                stock[key] -= used + waste
                row["delivered"] += arriving
                row["first_offered"] += firsts
                row["second_offered"] += seconds
                row["second_short"] += seconds - given_seconds
                row["vial_leftover"] += waste
                row["used"] += used
        row["shelf_doses"] = sum(max(value, 0) for value in stock.values())
        if progress and (day % 30 == 0 or day == days - 1):
            progress(day + 1, days)

    given = _given_in_saxony()
    months = []
    for month, row in month_rows.items():
        daily_use = row["used"] / row["days"] if row["days"] else 0
        row["shelf_days"] = round(row["shelf_doses"] / daily_use, 1) if daily_use else None
        row["capacity_limited"] = capacity_days[month] >= row["days"] * len(centres) // 4
        row["given_in_saxony"] = given.get(month, 0)
        months.append({"month": month, **{key: row[key] for key in KEYS}})
    last = months[-1]
    totals = {
        key: sum(m[key] for m in months)
        for key in [
            "delivered",
            "first_offered",
            "second_offered",
            "second_short",
            "vial_leftover",
            "given_in_saxony",
        ]
    }
    totals |= {
        "shelf_doses": last["shelf_doses"],
        "shelf_days": last["shelf_days"],
        "capacity_limited": any(m["capacity_limited"] for m in months),
    }
    return {"months": months, "totals": {key: totals[key] for key in KEYS}, "options": _options_dict(options)}


def _month(options: ReplayOptions, day: int) -> str:
    return (options.start + timedelta(days=day)).strftime("%Y-%m")


def _options_dict(options: ReplayOptions) -> dict:
    return {key: str(value) if isinstance(value, date) else value for key, value in vars(options).items()}


def _deliveries(centres, vaccines, options, days) -> dict[tuple[int, int], np.ndarray]:
    """The real deliveries to Saxony's centres, split by capacity share in whole vials."""
    table = parsers.read_table(DELIVERIES_FILE.read_bytes(), allow_xlsx=False)
    codes = parsers.Codes(active=frozenset(v.code for v in vaccines))
    parsed = parsers.parse_impfdashboard(table, vaccines=codes, today=options.end)
    totals = defaultdict(int)
    for row in parsed.rows:
        totals[row.date, row.vaccine] += row.doses
    by_id = capacity_weights()
    weights = {c.code: by_id[c.id] for c in centres}
    split = distribute(
        totals=totals, weights=weights, doses_per_vial={v.code: v.doses_per_vial for v in vaccines}
    )
    by_code = {c.code: c.id for c in centres}
    vaccine_ids = {v.code: v.id for v in vaccines}
    result = {(c.id, v.id): np.zeros(days, np.int64) for c in centres for v in vaccines}
    for (centre, vaccine, day), doses in split.doses.items():
        index = (day - options.start).days
        if 0 <= index < days:
            result[by_code[centre], vaccine_ids[vaccine]][index] += doses
        elif index < 0:  # delivered before the replay starts: stock on its first day
            result[by_code[centre], vaccine_ids[vaccine]][0] += doses
    return result


def _forecast_errors(actual, options) -> dict[tuple[int, int], np.ndarray]:
    """A seeded relative error per delivery, uniform within +-error_percent: forecast = actual x factor.

    Bounded, as a supplier's announced quantity is: with a forecast share of at most
    1 / (1 + error) the planner never counts more than arrives (0.8 x 1.2 = 0.96 by default).
    """
    rng = np.random.default_rng(options.seed)
    error = options.error_percent / 100
    return {key: 1 + rng.uniform(-error, error, len(values)) for key, values in sorted(actual.items())}


def _centre_input(
    centre, specs, day, days, known, actual, factors, kept, capacity, options
) -> planner.CentreInput:
    """What the planner knows on day `known` about centre, from `day` to the season's end."""
    horizon = known + options.forecast_weeks * 7
    length = days - day
    deliveries, fixed, opening = {}, {}, {}
    for spec in specs:
        key = (centre.id, spec.id)
        counted = actual[key].astype(np.float64)
        future = np.arange(days) > known
        forecast = counted * factors[key] * options.forecast_share_percent / 100
        counted = np.where(future, np.where(np.arange(days) <= horizon, np.floor(forecast), 0), counted)
        counted = np.where(counted < 0, actual[key], counted).astype(np.int64)  # returns are certain
        deliveries[spec.id] = counted[day:]
        fixed[spec.id] = kept[key][day:]
        # Charged like the planner charges: each past day's doses in whole vials.
        past = kept[key][:day]
        opening[spec.id] = int(
            counted[:day].sum() - (-(-past // spec.doses_per_vial) * spec.doses_per_vial).sum()
        )
    fixed_per_day = sum(fixed.values())
    return planner.CentreInput(
        vaccines=specs,
        plan_days=1,
        days=length,
        capacity=capacity[day:],
        deliveries=deliveries,
        fixed_doses=fixed,
        fixed_per_day=fixed_per_day,
        opening=opening,
    )


def _given_in_saxony() -> dict[str, int]:
    """Doses given at all vaccination sites in Saxony per month (RKI), for comparison."""
    result = defaultdict(int)
    with RKI_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            result[row["Impfdatum"][:7]] += int(row["Anzahl"])
    return dict(result)
