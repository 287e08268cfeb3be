"""Two planners at once, in real parallel transactions on PostgreSQL.

Without the planning lock both would read the same appointments and both add the missing
pairs: twice the appointments that the deliveries cover (DESIGN invariant 3). A barrier
right after the reads makes the two threads meet there, so the race is not left to chance;
with the lock, the second planner cannot read before the first has committed.
"""

import contextlib
import threading
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from supply import locking
from supply.models import Appointment, Delivery, PlanRun, Vaccine
from supply.services import plan_state, planning
from tests.factories import CentreFactory

START = date(2021, 4, 19)


def plan_twice_at_once(monkeypatch, centre):
    barrier = threading.Barrier(2)
    read = plan_state.existing_appointments

    def read_then_meet(*args, **kwargs):
        existing = read(*args, **kwargs)
        # With the lock the other thread cannot get here in time: the wait times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        return existing

    monkeypatch.setattr(plan_state, "existing_appointments", read_then_meet)
    vaccines = list(Vaccine.objects.order_by("id"))
    run = PlanRun.objects.create(reason="concurrency")
    errors = []

    def plan():
        try:
            with transaction.atomic():
                planning.lock_centres_for_planning([centre.id])
                planning._plan_centre(
                    centre, vaccines, START, START + timedelta(days=13), 100, run=run, trust_state=True
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.fixture
def centre_with_stock(transactional_db):
    centre = CentreFactory(lanes=2, minutes_per_vaccination=15)
    Delivery.objects.create(
        centre=centre, vaccine=Vaccine.objects.get(code="moderna"), date=START, doses=100, status="delivered"
    )
    return centre


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_lock_two_planners_plan_once(monkeypatch, centre_with_stock):
    plan_twice_at_once(monkeypatch, centre_with_stock)
    # 100 doses: 50 pairs, 100 appointments, whichever planner came first.
    assert Appointment.objects.filter(centre=centre_with_stock).count() == 100


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_control_without_the_lock_the_doses_are_planned_twice(monkeypatch, centre_with_stock):
    monkeypatch.setattr(planning, "lock_centres_for_planning", lambda centre_ids: None)
    # Both planners would also store the centre's plan state at their very end, and the second
    # insert of its row would fail: a late guard, not a lock. Left out, the race shows in full.
    monkeypatch.setattr(plan_state, "remember", lambda *args: None)
    plan_twice_at_once(monkeypatch, centre_with_stock)
    assert (
        Appointment.objects.filter(centre=centre_with_stock).count() == 200
    )  # the race: 100 doses, 200 doses planned


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_lock_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        locking.lock_centres_for_planning([1])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lock_held_too_long_is_a_busy_error_not_a_failed_transaction(monkeypatch):
    """The second taker gives up after the lock timeout with PlanningBusy, which callers turn
    into a message; resetting the timeout in the aborted transaction used to hide it."""
    from supply.exceptions import PlanningBusy

    monkeypatch.setattr(locking, "LOCK_TIMEOUT_MS", 200)
    taken, done = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                locking.lock_centres_for_planning([1])
                taken.set()
                done.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(timeout=10)
        with pytest.raises(PlanningBusy), transaction.atomic():
            locking.lock_centres_for_planning([1])
    finally:
        done.set()
        thread.join(timeout=10)
