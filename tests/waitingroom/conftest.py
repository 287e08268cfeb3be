"""A centre with planned (not yet released) appointments, and releases made through the service."""

from datetime import timedelta

import pytest
from django.db.models.expressions import RawSQL
from django.utils import timezone

from supply.models import Appointment
from tests.booking.conftest import plan, tomorrow
from tests.factories import CentreFactory
from waitingroom import selectors
from waitingroom.models import Release, Ticket
from waitingroom.services import queue_tick, release_schedule


@pytest.fixture
def centre(db):
    # 2 lanes, 15 minutes: 80 appointments on a weekday; 120 doses make 60 pairs from tomorrow.
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre, release=False)
    return centre


def make_release(*, opens_in=timedelta(minutes=-1), prequeue_minutes=60, centres=(), **fields) -> Release:
    """A release of the planned pairs from tomorrow on, scheduled through the service; by
    default it opened a minute ago (open, with a waiting room)."""
    fields = {
        "name": "Freigabe Test",
        "first_day": tomorrow(),
        "last_day": tomorrow() + timedelta(days=60),
        "opens_at": timezone.now() + opens_in,
        "prequeue_minutes": prequeue_minutes,
        "hotline_percent": 0,
        "admission_limit": 10,
        "admission_minutes": 20,
    } | fields
    release = Release.objects.create(**fields)
    release.centres.set(centres)
    return release_schedule(release=release)


def open_now(release: Release) -> None:
    """Move a scheduled release's opening to just now (by the database's clock, which inside a
    test's transaction stands at the transaction's start), its tickets so far before it."""
    just_now = RawSQL("now() - interval '1 second'", [])
    Ticket.objects.filter(release=release).update(created_at=RawSQL("now() - interval '2 seconds'", []))
    Appointment.objects.filter(bookable_from=release.opens_at).update(bookable_from=just_now)
    Release.objects.filter(pk=release.pk).update(opens_at=just_now)
    release.refresh_from_db()


def tick(at=None):
    queue_tick(now=at)
    selectors.clear_cache()
