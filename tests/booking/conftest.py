"""A small centre with planned appointments from tomorrow on, through the planner as in production."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from booking.services.bookings import PersonData
from supply.models import Delivery, PlanRun, Vaccine
from supply.services.planning import plan_run_execute
from tests.factories import CentreFactory


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def plan(centre, vaccine_code="comirnaty", doses=120, days=14):
    Delivery.objects.create(
        centre=centre,
        vaccine=Vaccine.objects.get(code=vaccine_code),
        date=tomorrow(),
        doses=doses,
        status=Delivery.Status.DELIVERED,
    )
    run = PlanRun.objects.create(reason="test")
    plan_run_execute(run_id=run.pk, plan_from=tomorrow(), plan_to=tomorrow() + timedelta(days=days - 1))


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
