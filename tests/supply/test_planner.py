"""The planner core, without a database: invariants over random inputs, and worked examples."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supply.planner import (
    LIMIT_CAPACITY,
    CentreInput,
    DaySteps,
    VaccineSpec,
    assign_times,
    plan_counts,
)

COMIRNATY = VaccineSpec(1, "comirnaty", 6, True, 21, 42, 42)
MODERNA = VaccineSpec(2, "moderna", 10, True, 28, 42, 42)
ASTRA = VaccineSpec(3, "astra", 10, True, 63, 84, 84)
JANSSEN = VaccineSpec(4, "johnson", 5, False)
VACCINES = [COMIRNATY, MODERNA, ASTRA, JANSSEN]


def make_input(plan_days, capacity, deliveries, fixed=None, vaccines=VACCINES):
    days = plan_days + max(v.interval_max for v in vaccines)
    pad = lambda values: np.array(list(values) + [0] * (days - len(values)), np.int64)  # noqa: E731
    fixed = fixed or {}
    fixed_doses = {v.id: pad(fixed.get(v.id, [])) for v in vaccines}
    return CentreInput(
        vaccines=vaccines,
        plan_days=plan_days,
        days=days,
        capacity=pad(capacity) if len(capacity) < days else np.array(capacity[:days], np.int64),
        deliveries={v.id: pad(deliveries.get(v.id, [])) for v in vaccines},
        fixed_doses=fixed_doses,
        fixed_per_day=sum(fixed_doses.values()),
    )


def used_per_day(plan, inp, vaccine_id):
    return inp.fixed_doses[vaccine_id] + plan.firsts[vaccine_id] + plan.seconds[vaccine_id]


@st.composite
def centre_inputs(draw):
    plan_days = draw(st.integers(1, 40))
    days = plan_days + 84
    daily_capacity = draw(st.integers(0, 60))
    capacity = [daily_capacity if draw(st.booleans()) or day % 7 else 0 for day in range(days)]
    deliveries = {}
    for vaccine in VACCINES:
        amounts = draw(st.lists(st.integers(0, 120), min_size=0, max_size=plan_days + 20))
        deliveries[vaccine.id] = amounts
    # Kept (booked) appointments: a few doses on random days, as an earlier plan left them.
    fixed = {
        vaccine.id: draw(st.lists(st.integers(0, 8), min_size=0, max_size=days))
        for vaccine in VACCINES
        if draw(st.booleans())
    }
    return make_input(plan_days, capacity, deliveries, fixed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centre_inputs())
def test_plan_never_exceeds_stock_capacity_or_intervals(inp):
    plan = plan_counts(inp)
    short = {s.vaccine_id for s in plan.shortfalls}
    for vaccine in VACCINES:
        counted = np.cumsum(inp.deliveries[vaccine.id])
        used = used_per_day(plan, inp, vaccine.id)
        kept_only = np.cumsum(inp.fixed_doses[vaccine.id])
        if vaccine.id in short:
            # Kept appointments are short already: nothing new may be added where they are short.
            assert (kept_only > counted).any()
            assert (np.cumsum(used) <= np.maximum(counted, kept_only)).all()
        else:
            # Invariant 3: appointment doses up to each day fit the deliveries up to that day,
            assert (np.cumsum(used) <= counted).all()
            # and so do the whole vials opened for them (an opened vial is used that day or wasted),
            # wherever the vials of the kept appointments alone fit.
            per_vial = vaccine.doses_per_vial
            if (np.cumsum(-(-inp.fixed_doses[vaccine.id] // per_vial) * per_vial) <= counted).all():
                assert (np.cumsum(-(-used // per_vial) * per_vial) <= counted).all()
    new_per_day = sum(plan.firsts[v.id] + plan.seconds[v.id] for v in VACCINES)
    free = np.maximum(inp.capacity - inp.fixed_per_day, 0)
    assert (new_per_day <= free).all()
    for vaccine_id, first_day, second_day, count in plan.groups:
        vaccine = next(v for v in VACCINES if v.id == vaccine_id)
        assert count > 0 and first_day < inp.plan_days
        if vaccine.two_doses:
            assert vaccine.interval_min <= second_day - first_day <= vaccine.interval_max
        else:
            assert second_day is None
    # Kept appointments are inputs only: the plan never changes them.
    assert all((inp.fixed_doses[v.id] >= 0).all() for v in VACCINES)


@settings(max_examples=60, deadline=None)
@given(centre_inputs())
def test_same_input_gives_the_same_plan(inp):
    first, second = plan_counts(inp), plan_counts(inp)
    assert first.groups == second.groups
    assert first.limit == second.limit


@settings(max_examples=60, deadline=None)
@given(centre_inputs(), st.integers(1, 6))
def test_times_respect_the_lanes_of_every_step(inp, lanes):
    steps_per_day = [capacity // lanes for capacity in inp.capacity]
    inp.capacity = np.array([count * lanes for count in steps_per_day], np.int64)
    inp.fixed_per_day = np.zeros(inp.days, np.int64)
    for vaccine in VACCINES:
        inp.fixed_doses[vaccine.id][:] = 0
    plan = plan_counts(inp)
    steps = [DaySteps(tuple(range(480, 480 + 5 * count, 5)), (lanes,) * count) for count in steps_per_day]
    taken = {}
    for _vaccine, day, minute, second_day, second_minute, count in assign_times(plan, steps):
        taken[day, minute] = taken.get((day, minute), 0) + count
        if second_day is not None:
            taken[second_day, second_minute] = taken.get((second_day, second_minute), 0) + count
    assert all(count <= lanes for count in taken.values())
    assert sum(taken.values()) == sum(int((plan.firsts[v.id] + plan.seconds[v.id]).sum()) for v in VACCINES)


def test_second_dose_goes_to_the_target_day_and_same_time_of_day():
    inp = make_input(1, [100] * 200, {COMIRNATY.id: [12]}, vaccines=[COMIRNATY])
    plan = plan_counts(inp)
    assert plan.groups == [(COMIRNATY.id, 0, 42, 6)]  # 12 doses: 6 pairs
    steps = [DaySteps((480, 485, 490), (2, 2, 2))] * inp.days
    times = assign_times(plan, steps)
    assert times == [
        (COMIRNATY.id, 0, 480, 42, 480, 2),
        (COMIRNATY.id, 0, 485, 42, 485, 2),
        (COMIRNATY.id, 0, 490, 42, 490, 2),
    ]


def test_full_target_day_moves_the_second_dose_within_the_interval():
    capacity = [100] * 200
    capacity[42] = 0  # the target day is a closure
    inp = make_input(1, capacity, {COMIRNATY.id: [12]}, vaccines=[COMIRNATY])
    plan = plan_counts(inp)
    assert plan.groups == [(COMIRNATY.id, 0, 41, 6)]


def test_second_doses_wait_for_a_delivery_they_can_count_on():
    # 6 doses now, 6 more in three weeks: the 6 now may all be first doses only if the
    # second doses find stock on their day; 6 later doses cover 6 second doses after day 21.
    inp = make_input(1, [100] * 200, {COMIRNATY.id: [6] + [0] * 20 + [6]}, vaccines=[COMIRNATY])
    plan = plan_counts(inp)
    assert sum(count for *_, count in plan.groups) == 6
    inp = make_input(1, [100] * 200, {COMIRNATY.id: [6]}, vaccines=[COMIRNATY])
    plan = plan_counts(inp)
    assert sum(count for *_, count in plan.groups) == 0  # 3 pairs would open a vial twice: not whole vials


def test_whole_vials_unless_a_vial_is_open_for_second_doses_anyway():
    # Day 0: 7 doses of stock, no second doses due: only one whole vial of first doses.
    inp = make_input(1, [100] * 200, {COMIRNATY.id: [14]}, vaccines=[COMIRNATY])
    plan = plan_counts(inp)
    assert int(plan.firsts[COMIRNATY.id][0]) == 6
    # Day 42 has 3 kept second doses: the opened vial is filled with first doses.
    fixed = [0] * 42 + [3]
    inp = make_input(
        43, [100] * 300, {COMIRNATY.id: [3] + [0] * 41 + [12]}, {COMIRNATY.id: fixed}, [COMIRNATY]
    )
    plan = plan_counts(inp)
    assert int(plan.firsts[COMIRNATY.id][42]) == 3  # 3 kept + 3 new = one vial; the rest waits


def test_capacity_is_shared_between_vaccines_and_reported_as_the_limit():
    inp = make_input(
        1, [12] + [100] * 200, {COMIRNATY.id: [60], JANSSEN.id: [60]}, vaccines=[COMIRNATY, JANSSEN]
    )
    plan = plan_counts(inp)
    assert int(plan.firsts[COMIRNATY.id][0] + plan.firsts[JANSSEN.id][0]) <= 12
    assert plan.firsts[COMIRNATY.id][0] > 0 and plan.firsts[JANSSEN.id][0] > 0
    assert plan.limit[0] == LIMIT_CAPACITY


def test_kept_second_doses_are_covered_before_new_first_doses():
    # 10 kept second doses on day 5 and only 10 doses: no new first doses before them.
    fixed = [0] * 5 + [10]
    inp = make_input(10, [100] * 200, {MODERNA.id: [10]}, {MODERNA.id: fixed}, [MODERNA])
    plan = plan_counts(inp)
    assert plan.groups == []
    assert plan.shortfalls == []


def test_a_cut_below_kept_appointments_is_reported_as_shortfall():
    fixed = [0] * 3 + [10]
    inp = make_input(5, [100] * 200, {MODERNA.id: [4]}, {MODERNA.id: fixed}, [MODERNA])
    plan = plan_counts(inp)
    assert [(s.vaccine_id, s.first_day, s.doses) for s in plan.shortfalls] == [(MODERNA.id, 3, 6)]
    assert plan.groups == []
