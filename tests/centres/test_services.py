from datetime import date

import pytest

from centres.models import Centre, OpeningHours
from centres.selectors import day_capacity
from centres.services import centres_load


def snapshot():
    centres = list(Centre.objects.order_by("code").values())
    hours = sorted(OpeningHours.objects.values_list("id", "centre__code", "weekday", "opens", "closes"))
    return centres, hours


@pytest.mark.django_db
def test_loads_the_13_saxon_centres_with_their_capacity():
    result = centres_load()
    assert result.created == 13
    assert Centre.objects.count() == 13
    chemnitz = Centre.objects.get(code="CN01")
    assert (chemnitz.postcode, chemnitz.town) == ("09111", "Chemnitz")
    # Chemnitz: 10 lanes, 3 minutes, Mon-Fri 8-20 (the largest centre, 2021 notes: up to 3,000 a day)
    assert day_capacity(centre=chemnitz, day=date(2021, 4, 19)).total == 10 * 720 // 3
    belgern = Centre.objects.get(code="BG01")
    assert day_capacity(centre=belgern, day=date(2021, 4, 24)).total == 3 * 480 // 4  # weekend 9-17


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    centres_load()
    before = snapshot()
    result = centres_load()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 13)
    assert snapshot() == before


@pytest.mark.django_db
def test_loading_restores_edited_centre_data():
    centres_load()
    Centre.objects.filter(code="DD01").update(lanes=1)
    OpeningHours.objects.filter(centre__code="DD01", weekday=0).delete()
    result = centres_load()
    assert (result.updated, result.unchanged) == (1, 12)
    dresden = Centre.objects.get(code="DD01")
    assert dresden.lanes == 10
    assert dresden.opening_hours.filter(weekday=0).exists()
