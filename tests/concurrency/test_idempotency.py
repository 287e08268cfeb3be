"""Retries of the hotline API racing each other (DESIGN invariant 10), in real parallel requests
with their own database connections: the call-centre software times out and sends the same
request again while the first one still runs.

Each service is slowed down a little so that the requests really overlap. The control shows
what the key prevents: without it, ten identical registrations make ten.
"""

import time

import pytest
from rest_framework.test import APIClient

from booking.models import Booking, Hold, Registration
from impfportal.api.services import api_client_create
from impfportal.models import IdempotencyRecord, Scope
from tests.booking.conftest import plan, tomorrow
from tests.concurrency.test_booking_race import in_parallel, race
from tests.factories import CALLER, CentreFactory

ERIKA = CALLER


@pytest.fixture
def token(transactional_db):
    _client, token = api_client_create(name="Call-Center Race", scopes=list(Scope.values))
    return token


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AGENT_ID="agent-7")
    return client


def slowed(monkeypatch, name: str, seconds: float = 0.3):
    """Make booking.api.views.<name> take a while, so that retries arrive while it runs."""
    import booking.api.views as views

    real = getattr(views, name)

    def slow(**kwargs):
        time.sleep(seconds)
        return real(**kwargs)

    monkeypatch.setattr(views, name, slow)


def outcomes(responses) -> list[tuple[int, str]]:
    return sorted(
        (r.status_code, r.json().get("code", "")) if not isinstance(r, Exception) else (0, repr(r))
        for r in responses
    )


@race
def test_ten_identical_booking_requests_make_one_booking(token, monkeypatch):
    centre = CentreFactory(lanes=2, minutes_per_vaccination=15)
    plan(centre, doses=20)
    held = api(token).post(
        "/api/v1/holds",
        {"centre": centre.code, "vaccine": "comirnaty", "date": tomorrow().isoformat()},
        format="json",
    )
    assert held.status_code == 201
    body = {"hold": held.json()["token"], "person": ERIKA}
    slowed(monkeypatch, "booking_confirm")

    responses = in_parallel(
        10, lambda n: api(token).post("/api/v1/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    )

    assert Booking.objects.count() == 1
    code = Booking.objects.get().code
    results = outcomes(responses)
    assert set(results) <= {(201, code), (409, "idempotency_in_progress")}, results
    ran = [r for r in responses if r.status_code == 201 and not r.has_header("Idempotent-Replayed")]
    assert len(ran) == 1  # the others were told to wait, or got the stored answer
    retry = api(token).post("/api/v1/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    assert retry.status_code == 201 and retry.json()["code"] == code
    assert retry["Idempotent-Replayed"] == "true"


@race
def test_ten_identical_hold_requests_make_one_hold(token, monkeypatch):
    centre = CentreFactory(lanes=2, minutes_per_vaccination=15)
    plan(centre, doses=20)
    body = {"centre": centre.code, "vaccine": "comirnaty", "date": tomorrow().isoformat()}
    slowed(monkeypatch, "hold_create_next")

    responses = in_parallel(
        10, lambda n: api(token).post("/api/v1/holds", body, format="json", HTTP_IDEMPOTENCY_KEY="call-2")
    )

    assert Hold.objects.count() == 1
    assert outcomes(responses).count((201, "")) >= 1
    assert {r.json()["token"] for r in responses if r.status_code == 201} == {str(Hold.objects.get().token)}
    assert IdempotencyRecord.objects.get(key="call-2").state == "done"


@race
def test_ten_identical_registrations_make_one(token, monkeypatch):
    slowed(monkeypatch, "registration_create")
    responses = in_parallel(
        10,
        lambda n: api(token).post(
            "/api/v1/registrations", {"person": ERIKA}, format="json", HTTP_IDEMPOTENCY_KEY="call-3"
        ),
    )
    assert Registration.objects.count() == 1
    assert {r.status_code for r in responses} <= {201, 409}


@race
def test_control_without_the_key_ten_registrations_make_ten(token, monkeypatch):
    slowed(monkeypatch, "registration_create")
    responses = in_parallel(
        10, lambda n: api(token).post("/api/v1/registrations", {"person": ERIKA}, format="json")
    )
    assert [r.status_code for r in responses] == [201] * 10
    assert Registration.objects.count() == 10
