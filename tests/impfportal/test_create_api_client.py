"""Operators create a hotline API client from the shell: the token is printed once and works;
mistakes are refused with a message, before anything is stored."""

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from impfportal.models import ApiClient

pytestmark = pytest.mark.django_db


def create(*args) -> str:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue()


def api(token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AGENT_ID="agent-7")


def test_the_command_prints_a_token_that_works(centre):
    output = create("Call-Center Leipzig", "--scopes", "availability, bookings")

    lines = output.splitlines()
    assert lines[0] == "Created API client 'Call-Center Leipzig' with scopes availability, bookings."
    token = lines[-1]
    assert token.startswith("ipx_") and output.count(token) == 1
    client = ApiClient.objects.get()
    assert (client.name, client.scopes, client.requests_per_minute) == (
        "Call-Center Leipzig",
        ["availability", "bookings"],
        1200,
    )
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(ApiClient.objects.values().get().values()))
    response = api(token).get("/api/v1/centres")
    assert response.status_code == 200
    assert [c["code"] for c in response.json()["results"]] == [centre.code]


def test_the_scopes_given_are_all_the_token_may_do(centre):
    token = create("Auskunft", "--scopes", "registrations", "--requests-per-minute", "30").splitlines()[-1]
    assert ApiClient.objects.get().requests_per_minute == 30
    response = api(token).get("/api/v1/centres")
    assert (response.status_code, response.json()["code"]) == (403, "scope_missing")


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("availability,holds", "unknown scope(s): holds; choose from availability, registrations, bookings"),
        ("bookings,admin,everything", "unknown scope(s): admin, everything"),
        (" , ", "no scope given"),
    ],
)
def test_an_unknown_scope_is_refused_by_name(db, scopes, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        create("Call-Center Leipzig", "--scopes", scopes)
    assert not ApiClient.objects.exists()


def test_a_name_in_use_is_refused(db):
    token = create("Call-Center Leipzig", "--scopes", "availability").splitlines()[-1]
    with pytest.raises(CommandError, match="a client named 'Call-Center Leipzig' exists already"):
        create("Call-Center Leipzig", "--scopes", "bookings")
    assert ApiClient.objects.get().scopes == ["availability"]
    assert api(token).get("/api/v1/centres").status_code == 200  # the first one is untouched


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_name_must_fit(db, name):
    with pytest.raises(CommandError, match="the name must have 1 to 100 characters"):
        create(name, "--scopes", "availability")
    assert not ApiClient.objects.exists()


def test_the_request_budget_must_be_positive(db):
    with pytest.raises(CommandError, match="at least 1"):
        create("Call-Center Leipzig", "--scopes", "availability", "--requests-per-minute", "0")
    assert not ApiClient.objects.exists()
