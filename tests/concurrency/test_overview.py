"""The live overview is counted once per interval however many web processes ask at once: the
one that claims the stale row counts, the others wait for its numbers (one count, not ten). Real
parallel transactions, each thread standing for a web process (its own connection, no shared
copy); the control without the row claim counts once per process."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from booking import locking
from booking.models import OverviewSnapshot
from booking.services import overview as overview_service
from tests.booking.conftest import plan
from tests.concurrency.test_booking_race import in_parallel, race
from tests.factories import CentreFactory


@pytest.fixture
def stale_overview(transactional_db, settings, monkeypatch):
    plan(CentreFactory(lanes=2, minutes_per_vaccination=15), doses=20)
    settings.OVERVIEW_SECONDS = 3
    old = overview_service.overview_refresh()  # as if counted a minute ago:
    OverviewSnapshot.objects.filter(pk=1).update(computed_at=timezone.now() - timedelta(minutes=1))
    counts = []
    real = overview_service.free_pairs

    def slow_count(**kwargs):  # long enough for every other process to arrive meanwhile
        counts.append(1)
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(overview_service, "free_pairs", slow_count)
    return counts, old


@race
def test_ten_processes_asking_at_once_count_once(stale_overview):
    started = time.monotonic()
    counts, old = stale_overview
    results = in_parallel(10, lambda n: overview_service._load_or_refresh())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(counts) == 1
    # The others waited for that one count (not for ten) and got its numbers, not the row a
    # minute old they had found.
    stored = OverviewSnapshot.objects.get(pk=1).computed_at
    assert stored > old.computed_at
    assert {r.computed_at for r in results} == {stored}
    assert time.monotonic() - started < 10 * 0.3


@race
def test_control_without_the_row_claim_every_process_counts(stale_overview, monkeypatch):
    monkeypatch.setattr(locking, "claim_overview_refresh", lambda seconds: True)
    in_parallel(10, lambda n: overview_service._load_or_refresh())
    counts, _old = stale_overview
    assert len(counts) == 10
