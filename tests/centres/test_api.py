"""The hotline API's centres: what an agent reads out to a caller (address, hours, closures, how
much a centre can do), nearest first by the caller's postcode; and who may ask at all."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from impfportal.api.services import api_client_revoke
from impfportal.models import Scope
from tests.factories import CentreFactory, ClosureFactory

pytestmark = pytest.mark.django_db
CENTRES = "/api/v1/centres"
PROBLEM = "application/problem+json"


@pytest.fixture
def saxony(db):
    """Three centres at their towns' coordinates: Dresden with a closure, Leipzig, Chemnitz."""
    return {
        "dresden": CentreFactory(
            code="DD01",
            name="Impfzentrum Dresden",
            postcode="01067",
            town="Dresden",
            latitude="51.05089",
            longitude="13.73832",
            lanes=2,
            minutes_per_vaccination=15,
        ),
        "leipzig": CentreFactory(
            code="L01",
            name="Impfzentrum Leipzig",
            postcode="04109",
            town="Leipzig",
            latitude="51.33962",
            longitude="12.37129",
        ),
        "chemnitz": CentreFactory(
            code="C01",
            name="Impfzentrum Chemnitz",
            postcode="09111",
            town="Chemnitz",
            latitude="50.83218",
            longitude="12.92522",
        ),
    }


def problem_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:impfportal:problem:{code}")
    assert body["detail"]
    return body


def expected_capacity(day, closed: dict | None = None) -> tuple:
    """Dresden (2 lanes, 15 minutes): 8-18 on weekdays is 80, 9-17 at weekends 64."""
    if closed and day in closed:
        return (day.isoformat(), 0, closed[day])
    return (day.isoformat(), 80 if day.weekday() < 5 else 64, None)


# --- Listing --------------------------------------------------------------------------------


def test_the_list_shows_each_centre_with_hours_closures_and_two_weeks_of_capacity(hotline, saxony):
    today = timezone.localdate()
    dresden = saxony["dresden"]
    ClosureFactory(centre=dresden, date=today - timedelta(days=1), reason="Gestern: vorbei")
    ClosureFactory(centre=dresden, date=today + timedelta(days=2), reason="Betriebsversammlung")
    ClosureFactory(centre=dresden, date=today + timedelta(days=20), reason="Umzug der Impfstraßen")

    response = hotline.get(CENTRES)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [c["code"] for c in body["results"]] == ["C01", "DD01", "L01"]  # by name
    centre = body["results"][1]
    assert {key: centre[key] for key in ("name", "postcode", "town", "lanes", "minutes_per_vaccination")} == {
        "name": "Impfzentrum Dresden",
        "postcode": "01067",
        "town": "Dresden",
        "lanes": 2,
        "minutes_per_vaccination": 15,
    }
    assert (centre["latitude"], centre["longitude"]) == (51.05089, 13.73832)
    assert centre["vaccinations_per_hour"] == 8
    assert "distance_km" not in centre  # only with a postcode
    assert centre["opening_hours"][0] == {
        "weekday": 0,
        "weekday_name": "Montag",
        "opens": "08:00:00",
        "closes": "18:00:00",
    }
    assert [(h["weekday_name"], h["opens"], h["closes"]) for h in centre["opening_hours"]][5:] == [
        ("Samstag", "09:00:00", "17:00:00"),
        ("Sonntag", "09:00:00", "17:00:00"),
    ]
    # Upcoming closures only, also beyond the two weeks of capacity.
    assert centre["closures"] == [
        {"date": (today + timedelta(days=2)).isoformat(), "reason": "Betriebsversammlung"},
        {"date": (today + timedelta(days=20)).isoformat(), "reason": "Umzug der Impfstraßen"},
    ]
    # Fourteen days from today; the closed day can do nothing and says why.
    closed = {today + timedelta(days=2): "Betriebsversammlung"}
    assert [(d["date"], d["appointments"], d["closed"]) for d in centre["capacity"]] == [
        expected_capacity(today + timedelta(days=n), closed) for n in range(14)
    ]
    # The other centres have no closures: every day open.
    assert body["results"][0]["closures"] == []
    assert all(day["appointments"] > 0 and day["closed"] is None for day in body["results"][0]["capacity"])


def test_a_centre_open_only_some_days_shows_no_capacity_on_the_others(hotline):
    CentreFactory(code="PI01", name="Impfzentrum Pirna", lanes=1, minutes_per_vaccination=10,
                  hours={2: [(time(9), time(12)), (time(13), time(15))]})  # fmt: skip
    centre = hotline.get(f"{CENTRES}/PI01").json()
    assert [(h["weekday_name"], h["opens"], h["closes"]) for h in centre["opening_hours"]] == [
        ("Mittwoch", "09:00:00", "12:00:00"),
        ("Mittwoch", "13:00:00", "15:00:00"),
    ]
    # Wednesdays 18 + 12 ten-minute steps on one lane; not a closure on the other days, just shut.
    for day in centre["capacity"]:
        wednesday = date.fromisoformat(day["date"]).weekday() == 2
        assert (day["appointments"], day["closed"]) == ((30, None) if wednesday else (0, None))


def test_the_list_comes_in_pages(hotline, saxony):
    first = hotline.get(CENTRES, {"page_size": 2}).json()
    assert first["count"] == 3
    assert [c["code"] for c in first["results"]] == ["C01", "DD01"]
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/centres?")
    assert "page=2" in first["next"] and "page_size=2" in first["next"]

    second = hotline.get(first["next"]).json()
    assert [c["code"] for c in second["results"]] == ["L01"]
    assert second["next"] is None and second["previous"] is not None


def test_a_page_beyond_the_last_is_a_problem(hotline, saxony):
    problem_of(hotline.get(CENTRES, {"page": 3, "page_size": 2}), 404, "not_found")


def test_inactive_centres_are_not_shown(hotline, saxony):
    CentreFactory(code="ZZ01", name="Impfzentrum Zittau (geschlossen)", active=False)
    body = hotline.get(CENTRES).json()
    assert body["count"] == 3
    assert "ZZ01" not in [c["code"] for c in body["results"]]
    near = hotline.get(CENTRES, {"postcode": "02763"}).json()  # Zittau's own postcode
    assert "ZZ01" not in [c["code"] for c in near["results"]]
    problem_of(hotline.get(f"{CENTRES}/ZZ01"), 404, "centre_not_found")


# --- Nearest first --------------------------------------------------------------------------


def test_with_a_postcode_the_nearest_centre_comes_first(hotline, saxony):
    body = hotline.get(CENTRES, {"postcode": "04109"}).json()  # Leipzig, Innenstadt
    assert [c["code"] for c in body["results"]] == ["L01", "C01", "DD01"]
    distances = [c["distance_km"] for c in body["results"]]
    assert distances[0] < 2
    assert 60 < distances[1] < 75  # Chemnitz
    assert 95 < distances[2] < 115  # Dresden
    assert all(d == round(d, 1) for d in distances)


def test_a_postcode_with_spaces_is_read_as_five_digits(hotline, saxony):
    body = hotline.get(CENTRES, {"postcode": " 01 067 "}).json()
    assert body["results"][0]["code"] == "DD01"


def test_pages_of_the_nearest_keep_the_postcode(hotline, saxony):
    first = hotline.get(CENTRES, {"postcode": "01067", "page_size": 1}).json()
    assert [c["code"] for c in first["results"]] == ["DD01"]
    assert "postcode=01067" in first["next"]
    second = hotline.get(first["next"]).json()
    assert [c["code"] for c in second["results"]] == ["C01"]
    assert second["results"][0]["distance_km"] > first["results"][0]["distance_km"]


@pytest.mark.parametrize(
    ("postcode", "code"),
    [("0106", "postcode_malformed"), ("O1067", "postcode_malformed"), ("", "postcode_malformed"),
     ("00000", "postcode_unknown")],
)  # fmt: skip
def test_a_postcode_that_cannot_be_used_is_named_in_the_problem(hotline, saxony, postcode, code):
    body = problem_of(hotline.get(CENTRES, {"postcode": postcode}), 400, "invalid")
    assert "postcode" in body["detail"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("postcode", code)]
    assert "Postleitzahl" in body["errors"][0]["message"]


# --- One centre -----------------------------------------------------------------------------


def test_one_centre_by_its_code(hotline, saxony):
    response = hotline.get(f"{CENTRES}/DD01")
    assert response.status_code == 200
    centre = response.json()
    assert (centre["code"], centre["name"], centre["street"], centre["venue"]) == (
        "DD01",
        "Impfzentrum Dresden",
        "Hauptstraße 1",
        "Stadthalle",
    )
    assert len(centre["opening_hours"]) == 7 and len(centre["capacity"]) == 14
    assert "distance_km" not in centre


@pytest.mark.parametrize("code", ["XX99", "dd01", "DD01%00"])
def test_an_unknown_centre_is_not_found(hotline, saxony, code):
    body = problem_of(hotline.get(f"{CENTRES}/{code}"), 404, "centre_not_found")
    assert body["detail"].startswith("Ein Impfzentrum mit dem Code")


# --- Who may ask ----------------------------------------------------------------------------


def test_without_a_token_the_api_asks_for_one(saxony):
    response = APIClient(HTTP_X_AGENT_ID="agent-7").get(CENTRES)
    problem_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(saxony):
    api = APIClient(HTTP_AUTHORIZATION="Bearer ipx_not-a-token", HTTP_X_AGENT_ID="agent-7")
    problem_of(api.get(CENTRES), 401, "invalid_token")


def test_a_revoked_token_is_refused(hotline, saxony):
    assert hotline.get(CENTRES).status_code == 200
    api_client_revoke(client=hotline.client_row)
    body = problem_of(hotline.get(CENTRES), 401, "token_revoked")
    assert "widerrufen" in body["detail"]
    problem_of(hotline.get(f"{CENTRES}/DD01"), 401, "token_revoked")


def test_a_token_without_the_availability_scope_may_not_read_centres(make_hotline, saxony):
    booking_only = make_hotline(scopes=[Scope.BOOKINGS, Scope.REGISTRATIONS])
    body = problem_of(booking_only.get(CENTRES), 403, "scope_missing")
    assert "availability" in body["detail"]
    problem_of(booking_only.get(f"{CENTRES}/DD01"), 403, "scope_missing")


@pytest.mark.parametrize("agent", [None, "", "agent 7", "-agent", "a" * 65])
def test_every_request_names_the_agent(hotline, saxony, agent):
    headers = {} if agent is None else {"HTTP_X_AGENT_ID": agent}
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {hotline.token}", **headers)
    body = problem_of(api.get(CENTRES), 400, "agent_missing")
    assert "X-Agent-Id" in body["detail"]


def test_a_client_over_its_budget_is_asked_to_wait(make_hotline, saxony):
    api = make_hotline(requests_per_minute=2)
    assert api.get(CENTRES).status_code == 200
    assert api.get(f"{CENTRES}/DD01").status_code == 200
    response = api.get(CENTRES)
    problem_of(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
