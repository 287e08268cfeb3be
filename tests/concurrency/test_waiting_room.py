"""The waiting room under contention, in real parallel transactions on PostgreSQL (DESIGN
invariant 8): joins racing each other and the opening's draw; parallel ticks."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from supply.locking import ticker_lock
from tests.booking.conftest import plan
from tests.concurrency.test_booking_race import in_parallel
from tests.factories import CentreFactory
from tests.waitingroom.conftest import make_release
from waitingroom import services
from waitingroom.models import Release, Ticket
from waitingroom.services import queue_join, queue_tick, queue_ticker

race = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def opening(transactional_db, settings):
    """A release that has just opened, not yet ticked, with eight tickets from its pre-queue."""
    settings.WAITINGROOM_JOINS_PER_MINUTE = 1000
    centre = CentreFactory(lanes=2, minutes_per_vaccination=15)
    plan(centre, release=False)
    release = make_release(opens_in=timedelta(seconds=-1), admission_limit=100)
    for n in range(8):
        queue_join(release_id=release.pk, client_address=f"192.0.2.{n}")
    Ticket.objects.update(created_at=RawSQL("now() - interval '1 minute'", []))
    return release


def _join_during_the_draw(release, *, monkeypatch):
    """Tick (the opening's draw) in one thread; join in another right after the draw has placed
    the tickets it saw, before the tick has committed."""
    drawing, joined = threading.Event(), threading.Event()
    draw = services._draw_places

    def slow_draw(release_row):
        draw(release_row)
        drawing.set()
        joined.wait(timeout=2)  # with the lock, the join waits for us: go on after 2 s

    monkeypatch.setattr(services, "_draw_places", slow_draw)

    def work(number):
        if number == 0:
            return queue_tick()
        drawing.wait(timeout=10)
        ticket = queue_join(release_id=release.pk, client_address="198.51.100.1")
        joined.set()
        return ticket

    return in_parallel(2, work)


@race
def test_a_join_during_the_opening_draw_gets_a_place(opening, monkeypatch):
    results = _join_during_the_draw(opening, monkeypatch=monkeypatch)
    assert not any(isinstance(r, Exception) for r in results), results
    late = Ticket.objects.get(pk=results[1].pk)
    assert late.number == 9 and late.place == 9
    assert sorted(Ticket.objects.values_list("place", flat=True)) == list(range(1, 10))


@race
def test_control_without_the_release_lock_a_join_during_the_draw_is_lost(opening, monkeypatch):
    monkeypatch.setattr(QuerySet, "select_for_update", lambda self, **kwargs: self)
    results = _join_during_the_draw(opening, monkeypatch=monkeypatch)
    assert not any(isinstance(r, Exception) for r in results), results
    late = Ticket.objects.get(pk=results[1].pk)
    assert late.place is None  # never drawn, never called: the race the lock prevents


@race
def test_parallel_joins_get_unique_consecutive_numbers(opening):
    results = in_parallel(40, lambda n: queue_join(release_id=opening.pk, client_address=f"203.0.113.{n}"))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(t.number for t in results) == list(range(9, 49))
    assert Release.objects.get(pk=opening.pk).joined == 48


@race
def test_parallel_ticks_call_no_one_beyond_the_limit(opening):
    Release.objects.filter(pk=opening.pk).update(admission_limit=5)
    results = in_parallel(6, lambda n: queue_tick())
    assert not any(isinstance(r, Exception) for r in results), results
    release = Release.objects.get(pk=opening.pk)
    assert release.called_up_to == 5
    assert Ticket.objects.filter(called_at__isnull=False).count() == 5
    assert sorted(Ticket.objects.values_list("place", flat=True)) == list(range(1, 9))
    connection.close()


@race
def test_one_ticker_at_a_time(opening):
    """Several q-cluster workers may start the ticker: a second one returns at once, the first ticks."""
    holding, done = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with ticker_lock() as mine:
                assert mine
                holding.set()
                done.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_the_lock)
    thread.start()
    try:
        assert holding.wait(timeout=10)
        assert queue_ticker(seconds=0) == 0
        assert Release.objects.get(pk=opening.pk).status == Release.Status.SCHEDULED  # not ticked
    finally:
        done.set()
        thread.join(timeout=10)
    assert queue_ticker(seconds=0) == 1
    assert Release.objects.get(pk=opening.pk).status == Release.Status.OPEN
