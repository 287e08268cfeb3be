"""The stored plan state (supply/services/plan_state.py): a re-plan that starts from it plans
exactly what one from a full read of the appointments would, and a state that no longer
matches the appointments is never trusted."""

import logging
from collections import Counter
from datetime import date, timedelta

from supply.models import Appointment, CentrePlanState, Delivery
from supply.services import plan_state
from supply.services.planning import _start_of
from tests.supply.test_services_planning import (
    START,
    assert_doses_never_run_short,
    deliver,
    mark_booked,
    plan,
)


def appointments_by_time():
    """The appointments as a multiset of what a person would see: vaccine, time, dose, second time."""
    return Counter(Appointment.objects.values_list("vaccine__code", "starts_at", "dose", "second__starts_at"))


def season(centre, vaccines, *, forget_between_runs):
    comirnaty, moderna, astra = vaccines["comirnaty"], vaccines["moderna"], vaccines["astra"]
    for week in range(4):
        deliver(centre, comirnaty, START + timedelta(days=7 * week), 180)
        deliver(centre, moderna, START + timedelta(days=7 * week + 2), 100, Delivery.Status.FORECAST)
    deliver(centre, astra, START + timedelta(days=3), 200, Delivery.Status.CONFIRMED)
    outcomes = []
    for plan_from, change in (
        (START, None),
        (START + timedelta(days=3), (comirnaty, START + timedelta(days=14), 60)),  # a cut
        (START + timedelta(days=5), (moderna, START + timedelta(days=9), 400)),  # more vaccine
        (START + timedelta(days=5), None),
    ):
        if change:
            deliver(centre, *change)
        if forget_between_runs:
            CentrePlanState.objects.all().delete()
        plan(plan_from, START + timedelta(days=27))
        outcomes.append(appointments_by_time())
    return outcomes


def test_replanning_from_the_stored_state_plans_what_a_full_read_would(centre, vaccines, monkeypatch):
    full_reads = []
    read = plan_state._read
    monkeypatch.setattr(plan_state, "_read", lambda *args: full_reads.append(args) or read(*args))
    from_state = season(centre, vaccines, forget_between_runs=False)
    assert len(full_reads) == 1  # only the first run read the appointments
    Appointment.objects.filter(dose=1).delete()  # first doses first: they protect their second doses
    Appointment.objects.all().delete()
    CentrePlanState.objects.all().delete()
    from_reads = season(centre, vaccines, forget_between_runs=True)
    assert from_state == from_reads
    assert len({frozenset(outcome.items()) for outcome in from_state}) >= 3  # the changes changed the plan
    for vaccine in vaccines.values():
        assert_doses_never_run_short(centre, vaccine)


def test_a_stray_appointment_makes_the_state_untrusted(centre, vaccines):
    deliver(centre, vaccines["comirnaty"], START, 120)
    plan()
    window_start = _start_of(START)
    assert plan_state.existing_appointments(centre.id, window_start, trust_state=True).from_state
    Appointment.objects.create(
        centre=centre, vaccine=vaccines["comirnaty"], starts_at=_start_of(START + timedelta(days=1)), dose=1
    )
    existing = plan_state.existing_appointments(centre.id, window_start, trust_state=True)
    assert not existing.from_state
    assert existing.appointments[:, 3].sum() == Appointment.objects.count()


def test_a_booking_behind_the_planners_back_is_noticed_and_kept(centre, vaccines, caplog):
    """Pairs booked without a release that forgot the state: the state still calls them
    replaceable, the cut cannot withdraw them, and the centre is planned again from a full read."""
    comirnaty = vaccines["comirnaty"]
    deliver(centre, comirnaty, START, 120)
    plan()
    booked_ids = mark_booked(Appointment.objects.filter(dose=1).order_by("-starts_at")[:20])
    booked = set(Appointment.objects.filter(id__in=booked_ids).values_list("id", "starts_at"))

    deliver(centre, comirnaty, START, 60)
    with caplog.at_level(logging.WARNING, logger="supply.services.planning"):
        run = plan()

    assert "was stale" in caplog.text
    assert set(Appointment.objects.filter(id__in=booked_ids).values_list("id", "starts_at")) == booked
    assert run.withdrawn > 0
    assert_doses_never_run_short(centre, comirnaty)


def test_a_release_forgets_the_state(centre, vaccines):
    deliver(centre, vaccines["comirnaty"], START, 120)
    plan()
    plan_state.forget([centre.id])
    assert not CentrePlanState.objects.exists()
    assert not plan_state.existing_appointments(
        centre.id, _start_of(date(2021, 4, 20)), trust_state=True
    ).from_state
