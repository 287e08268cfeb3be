"""The 2021 replay (manage.py replay_saxony_2021) on the real data, over a short window."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from centres.services import centres_load
from supply.replay import KEYS

# Marked as database tests so that they run before the transactional ones, which empty the
# tables afterwards (taking the vaccines of the data migration with them).
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def replayed(django_db_setup, django_db_blocker):
    """The whole 2021 season (the end matters: no first dose is offered whose second dose
    would fall after the centres closed), replayed once for all tests of this module."""
    with django_db_blocker.unblock():
        centres_load()
        out = StringIO()
        call_command("replay_saxony_2021", "--json", stdout=out)
        from centres.models import Centre

        Centre.objects.all().delete()
    return json.loads(out.getvalue())


def test_replay_prints_the_monthly_table_as_json_with_every_key(replayed):
    months = [month["month"] for month in replayed["months"]]
    assert months[:4] == ["2020-12", "2021-01", "2021-02", "2021-03"]
    assert replayed["months"][-1]["month"] == "2021-09"
    for row in [*replayed["months"], replayed["totals"]]:
        assert set(row) >= set(KEYS)


def test_replay_never_leaves_a_second_dose_short(replayed):
    assert replayed["totals"]["second_short"] == 0


def test_replay_uses_the_real_deliveries_and_rki_figures(replayed):
    months = replayed["months"]
    # impfdashboard: doses delivered to Saxony's centres from 2020-12-26 to 2021-03-31
    assert sum(month["delivered"] for month in months[:4]) == 68_250 + 106_875 + 255_150 + 494_850
    assert months[1]["given_in_saxony"] == 100_265  # RKI, January 2021
    # What the centres could give by 31 March: about what they did give (665,212).
    offered = sum(month["first_offered"] + month["second_offered"] for month in months[:4])
    assert 600_000 < offered < 700_000


def test_replay_keeps_the_shelf_low_where_capacity_is_not_the_limit(replayed):
    # September excepted: no new first doses once their second doses would fall after the closing.
    for month in replayed["months"][:-1]:
        if not month["capacity_limited"]:
            assert month["shelf_days"] <= 5, month


def test_replay_is_deterministic_for_a_seed(db):
    centres_load()
    runs = []
    for _ in range(2):
        out = StringIO()
        call_command("replay_saxony_2021", "--json", "--end", "2021-01-31", "--seed", "7", stdout=out)
        runs.append(out.getvalue())
    assert runs[0] == runs[1]
