"""The live overview (page, landing section, public JSON): it shows what booking would accept at
that moment (DESIGN invariant 7), counted once per interval for everyone."""

import re
from datetime import date, timedelta

import pytest
from django.db.models.expressions import RawSQL
from django.utils import timezone

from booking.exceptions import NoFreePair
from booking.models import OverviewSnapshot, PriorityGroup
from booking.selectors import free_pairs
from booking.services import overview as overview_service
from booking.services.bookings import booking_confirm
from booking.services.holds import hold_create_next
from booking.services.overview import clear_copy, overview_current
from supply.models import Appointment, Vaccine, VaccineAgeRule
from tests.booking.conftest import person, plan, tomorrow
from tests.factories import CentreFactory

pytestmark = pytest.mark.django_db


def shown(client, age=None) -> dict:
    """The public JSON's numbers."""
    response = client.get("/api/v1/public/availability", {} if age is None else {"age": age})
    assert response.status_code == 200, response.content
    return response.json()


def centre_total(client, code="DD01", age=None) -> int:
    return next(c["total"] for c in shown(client, age)["centres"] if c["code"] == code)


def test_the_page_shows_each_centre_by_vaccine_and_day_with_the_time_counted(centre, client):
    response = client.get("/freie-termine/")
    assert response.status_code == 200
    page = response.content.decode()
    total = free_pairs(by="centre").total()
    assert total > 0
    assert f"{total} freie Terminpaare in den nächsten 4 Wochen" in page
    assert (
        "Stand: " in page and timezone.localtime(overview_current().computed_at).strftime("%H:%M:%S") in page
    )
    assert "Impfzentrum Dresden" in page and "Comirnaty" in page
    assert not response.cookies  # no session, no CSRF cookie: cacheable for everyone
    assert response["Cache-Control"].startswith("public")


def test_the_map_is_drawn_on_the_server_with_each_centres_count(centre, client):
    CentreFactory(code="L01", name="Impfzentrum Leipzig", town="Leipzig", latitude="51.34", longitude="12.37")
    page = client.get("/freie-termine/").content.decode()
    map_start = page.index('role="img"')
    svg = page[map_start : page.index("</svg>", map_start)]
    assert svg.count("<circle") == 2
    assert f">{free_pairs(by='centre').total()}</text>" in svg and ">0</text>" in svg
    assert "<script" not in page.split("<main", 1)[1] and "http" not in svg  # no tiles, no scripts


def test_booking_every_pair_shown_leaves_0_and_booking_refuses_more(centre, client):
    """Invariant 7: what the overview shows free at a centre is exactly what booking accepts."""
    start = centre_total(client)
    days = [date.fromisoformat(day) for day, n in shown(client)["centres"][0]["by_day"].items() if n]
    comirnaty = Vaccine.objects.get(code="comirnaty")
    booked = 0
    for day in days:
        while True:
            try:
                hold = hold_create_next(
                    centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner=f"p{booked}"
                )
            except NoFreePair:
                break
            booking_confirm(token=hold.token, person=person(first=f"Erika{booked}"))
            booked += 1
            assert centre_total(client) == start - booked
    assert booked == start
    assert centre_total(client) == 0


def test_a_hold_lowers_the_count_and_its_expiry_restores_it(centre, client):
    before = centre_total(client)
    hold = hold_create_next(
        centre_id=centre.id, vaccine_id=Vaccine.objects.get(code="comirnaty").id, day=tomorrow(), owner="s"
    )
    assert centre_total(client) == before - 1
    Appointment.objects.filter(claim_token=hold.token).update(
        claimed_until=RawSQL("now() - interval '1 second'", [])
    )
    assert centre_total(client) == before


def test_unreleased_contingent_and_unapproved_never_show(centre, client):
    before = centre_total(client)
    plan(centre, "moderna", doses=20, release=False)  # planned, not released
    assert centre_total(client) == before
    first = Appointment.objects.filter(dose=1, vaccine__code="comirnaty").first()
    Appointment.objects.filter(pk__in=[first.pk, first.second_id]).update(hotline_only=True)
    assert centre_total(client) == before - 1  # the hotline's contingent is not the website's
    VaccineAgeRule.objects.filter(vaccine__code="comirnaty").update(valid_from=date(2099, 1, 1))
    body = shown(client)
    assert centre_total(client) == 0 and "comirnaty" not in {v["code"] for v in body["vaccines"]}


def test_an_age_hides_what_that_age_cannot_book(centre, client):
    plan(centre, "astra", doses=110)  # AstraZeneca in the centres: 60 and over
    everyone, at_45, at_70 = shown(client), shown(client, 45), shown(client, 70)
    astra = everyone["centres"][0]["by_vaccine"]["astra"]
    assert astra > 0
    assert "astra" not in at_45["centres"][0]["by_vaccine"]
    assert at_45["total"] == everyone["total"] - astra
    assert at_70["total"] == everyone["total"]
    page = client.get("/freie-termine/", {"alter": "45"}).content.decode()
    assert f"{at_45['total']} freie Terminpaare in den nächsten 4 Wochen" in page and "für 45 Jahre" in page
    assert "AstraZeneca" not in page.split("Für Ihr Alter zugelassen:")[1].split("</p>")[0]


@pytest.mark.parametrize("age", ["alt", "-3", "121", "4.5"])
def test_something_that_is_no_age_is_said_and_everything_shown(centre, client, age):
    page = client.get("/freie-termine/", {"alter": age}).content.decode()
    assert "Bitte geben Sie Ihr Alter in Jahren an" in page and 'aria-invalid="true"' in page
    response = client.get("/api/v1/public/availability", {"age": age})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "age"


def test_the_json_is_open_to_everyone_cacheable_and_the_same_as_the_page(centre, client):
    response = client.get("/api/v1/public/availability", HTTP_ORIGIN="https://zeitung.example")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public, max-age=")
    body = response.json()
    assert body["total"] == free_pairs(by="centre").total()
    assert body["days"][0] == timezone.localdate().isoformat() and len(body["days"]) == 28
    assert (
        body["centres"][0]["by_day"][tomorrow().isoformat()]
        == free_pairs(by="centre", start=tomorrow(), end=tomorrow() + timedelta(days=1)).total()
    )
    again = client.get("/api/v1/public/availability", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_landing_page_shows_the_free_pairs(centre, client):
    page = client.get("/").content.decode()
    total = free_pairs(by="centre").total()
    assert f"{total} freie Terminpaare in den nächsten Wochen" in page
    assert f"{total} freie Terminpaare</p>" in page  # on the centre's card
    assert "/freie-termine/" in page


def test_counted_once_per_interval_for_all_processes_and_free_of_queries_in_between(
    centre, client, settings, monkeypatch, django_assert_num_queries
):
    settings.OVERVIEW_SECONDS, settings.OVERVIEW_REFRESH_SECONDS = 3, 60
    counts = []
    real = overview_service.free_pairs
    monkeypatch.setattr(overview_service, "free_pairs", lambda **kw: counts.append(1) or real(**kw))
    OverviewSnapshot.objects.filter(pk=1).update(computed_at=timezone.now() - timedelta(minutes=1))
    client.get("/api/v1/public/availability")
    assert len(counts) == 1
    with django_assert_num_queries(0):  # this process's copy
        client.get("/api/v1/public/availability")
        client.get("/freie-termine/")
    for _other_process in range(3):  # other processes: one read of the shared row each, no count
        clear_copy()
        with django_assert_num_queries(1):  # the shared row
            client.get("/api/v1/public/availability")
    assert len(counts) == 1


def test_the_maps_coordinates_are_numbers_in_every_language(centre, client):
    """465.3, never the German 465,3: a comma would leave the map 150 px high and the markers
    nowhere."""
    for path in ("/freie-termine/", "/en/freie-termine/"):
        page = client.get(path).content.decode()
        assert 'viewBox="0 0 600 465.3" width="600" height="465.3"' in page
        assert re.search(r'<circle cx="\d+\.\d" cy="\d+\.\d" r="17"/>', page)


def test_an_age_no_open_group_admits_by_age_is_told_how_to_book(centre, client):
    PriorityGroup.objects.exclude(min_age=80).update(open_from=date(2099, 1, 1))
    PriorityGroup.objects.filter(min_age=80).update(open_from=date(2021, 1, 1))
    young = client.get("/freie-termine/", {"alter": "45"}).content.decode()
    old = client.get("/freie-termine/", {"alter": "85"}).content.decode()
    assert "Nach dem Alter allein können derzeit Menschen ab 80 Jahren buchen" in young
    assert "Nach dem Alter allein" not in old


def test_an_emptied_table_gets_its_row_back_and_the_numbers_stored(centre, client, settings):
    settings.OVERVIEW_SECONDS = 3
    OverviewSnapshot.objects.all().delete()
    client.get("/api/v1/public/availability")
    clear_copy()
    client.get("/api/v1/public/availability")
    assert OverviewSnapshot.objects.get(pk=1).data["centres"]


def test_each_centre_lists_the_days_it_has_free_pairs_on(centre, client):
    page = client.get("/freie-termine/").content.decode()
    total = free_pairs(by="centre").total()
    assert f"<summary>Impfzentrum Dresden: {total} freie Terminpaare</summary>" in page
    on_tomorrow = free_pairs(by="centre", start=tomorrow(), end=tomorrow() + timedelta(days=1)).total()
    assert f"{tomorrow():%d.%m.%Y}: {on_tomorrow}</li>" in page
