"""A small centre with planned and released appointments from tomorrow on, planned through the
planner as in production. They are released by marking them bookable, without a Release and so
without a waiting room in front (tests/waitingroom releases through the service)."""

from datetime import date, timedelta

import pytest
from django.db.models.expressions import RawSQL
from django.utils import timezone

from booking.services.bookings import PersonData
from supply.models import Appointment, Delivery, PlanRun, Vaccine
from supply.services.planning import plan_run_execute
from tests.factories import CentreFactory


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def plan(centre, vaccine_code="comirnaty", doses=120, days=14, release=True):
    Delivery.objects.create(
        centre=centre,
        vaccine=Vaccine.objects.get(code=vaccine_code),
        date=tomorrow(),
        doses=doses,
        status=Delivery.Status.DELIVERED,
    )
    run = PlanRun.objects.create(reason="test")
    plan_run_execute(run_id=run.pk, plan_from=tomorrow(), plan_to=tomorrow() + timedelta(days=days - 1))
    if release:
        release_planned()


def release_planned() -> int:
    """Make every planned appointment bookable now, as a release without a queue would."""
    # The database's now() (Django's Now() is statement_timestamp()): inside a test's transaction
    # that is when the transaction began, the very clock the claims compare bookable_from with.
    return Appointment.objects.filter(bookable_from__isnull=True).update(bookable_from=RawSQL("now()", []))


@pytest.fixture
def centre(db):
    # 2 lanes, 15 minutes: 80 appointments on a weekday, 64 at weekends.
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre)
    return centre


@pytest.fixture
def comirnaty(db):
    return Vaccine.objects.get(code="comirnaty")


def person(first="Erika", last="Mustermann", born=date(1938, 5, 17), email="erika@example.org") -> PersonData:
    return PersonData(first_name=first, last_name=last, birth_date=born, postcode="01067", email=email)
