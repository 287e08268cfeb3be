"""What every hotline API call has in common: who may call (token, scope, agent), how much
(throttling), what an error looks like (problem+json), bad input, idempotent retries
(DESIGN invariant 10) and the audit log."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Person, Registration
from impfportal.api import services
from impfportal.api.services import api_client_revoke, api_records_purge, idempotency_begin
from impfportal.models import ApiUsage, AuditEntry, IdempotencyRecord, Scope
from tests.factories import CALLER

pytestmark = pytest.mark.django_db

ERIKA = CALLER


def register(api, person=None, **headers):
    return api.post("/api/v1/registrations", {"person": person or ERIKA}, format="json", **headers)


def problem_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:impfportal:problem:{code}"
    assert body["title"] and body["detail"]
    return body


# --- Who may call ---------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(hotline):
    hotline.credentials(HTTP_X_AGENT_ID="agent-7")  # drops the Authorization header
    response = hotline.get("/api/v1/centres")
    problem_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer ipx_doesnotexist", "Bearer two parts", "Bearer"],
)
def test_unknown_or_malformed_tokens_are_401(hotline, header):
    hotline.credentials(HTTP_AUTHORIZATION=header, HTTP_X_AGENT_ID="agent-7")
    problem_of(hotline.get("/api/v1/centres"), 401, "invalid_token")


def test_a_revoked_token_is_refused_at_once(hotline):
    assert hotline.get("/api/v1/centres").status_code == 200
    api_client_revoke(client=hotline.client_row)
    body = problem_of(hotline.get("/api/v1/centres"), 401, "token_revoked")
    assert "widerrufen" in body["detail"]


def test_a_token_without_the_scope_is_403_naming_it(make_hotline):
    reader = make_hotline(scopes=[Scope.AVAILABILITY])
    assert reader.get("/api/v1/centres").status_code == 200
    body = problem_of(register(reader), 403, "scope_missing")
    assert "registrations" in body["detail"]
    assert not Person.objects.exists()


def test_the_token_is_stored_only_as_its_digest(hotline):
    row = hotline.client_row
    row.refresh_from_db()
    assert hotline.token.startswith("ipx_")
    assert hotline.token not in (row.token_hash, row.token_prefix)
    assert len(row.token_hash) == 64


@pytest.mark.parametrize("agent", [None, "", " agent", "a" * 65, "agent 7", "agent\u00e4"])
def test_every_request_names_a_valid_agent(make_hotline, agent):
    api = make_hotline()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api.token}"}
    if agent is not None:
        headers["HTTP_X_AGENT_ID"] = agent
    api.credentials(**headers)
    body = problem_of(api.get("/api/v1/centres"), 400, "agent_missing")
    assert "X-Agent-Id" in body["detail"]


# --- How much -------------------------------------------------------------------------------


def test_a_client_over_its_budget_gets_429_with_retry_after(make_hotline):
    slow = make_hotline(requests_per_minute=3)
    other = make_hotline()
    assert [slow.get("/api/v1/centres").status_code for _ in range(3)] == [200, 200, 200]
    response = slow.get("/api/v1/centres")
    problem_of(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other.get("/api/v1/centres").status_code == 200  # the budget is per client
    assert ApiUsage.objects.get(client=slow.client_row).count == 4


# --- Bad input: a 4xx naming the field, never a 5xx, nothing half-written -------------------


def test_malformed_json_is_400(hotline):
    response = hotline.generic(
        "POST", "/api/v1/registrations", '{"person": {', content_type="application/json"
    )
    body = problem_of(response, 400, "malformed_body")
    assert "JSON" in body["detail"]


def test_a_body_that_is_not_an_object_is_400(hotline):
    response = hotline.post("/api/v1/registrations", [ERIKA], format="json")
    problem_of(response, 400, "invalid")


def test_form_encoded_bodies_are_415(hotline):
    response = hotline.post("/api/v1/registrations", {"person": "x"})  # multipart
    problem_of(response, 415, "unsupported_media_type")


def test_oversized_bodies_are_413_before_they_are_read(hotline, settings):
    settings.API_MAX_BODY_BYTES = 2048
    response = register(hotline, ERIKA | {"first_name": "E" * 5000})
    problem_of(response, 413, "body_too_large")
    assert not Person.objects.exists()


def test_wrong_types_unknown_fields_and_impossible_dates_name_every_field(hotline):
    person = ERIKA | {
        "birth_date": "1938-02-30",
        "first_name": 17,
        "email": "not an address",
        "shoe_size": 42,
    }
    response = register(hotline, person, HTTP_IDEMPOTENCY_KEY="bad-1")
    body = problem_of(response, 400, "invalid")
    fields = {error["field"]: error["code"] for error in body["errors"]}
    assert fields == {
        "person.birth_date": "invalid",
        "person.first_name": "invalid",
        "person.email": "invalid",
        "person.shoe_size": "unknown_field",
    }
    assert "person.birth_date" in body["detail"]
    assert not Person.objects.exists() and not Registration.objects.exists()


def test_a_birth_date_in_the_future_is_refused_by_the_forms_rule(hotline):
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    body = problem_of(register(hotline, ERIKA | {"birth_date": future}), 400, "invalid")
    assert body["errors"][0]["field"] == "person.birth_date"
    assert "Zukunft" in body["errors"][0]["message"]


def test_unknown_codes_and_routes_are_problem_documents_too(hotline):
    problem_of(
        hotline.get("/api/v1/registrations/NOPE", {"birth_date": "1938-05-17"}), 404, "registration_not_found"
    )
    problem_of(hotline.get("/api/v1/no-such-thing"), 404, "not_found")
    problem_of(hotline.put("/api/v1/registrations", {}, format="json"), 405, "method_not_allowed")


def test_errors_are_german_for_the_agent_to_read_out_whatever_the_client_asks(hotline):
    body = register(hotline, ERIKA | {"postcode": "1234"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["errors"][0]["message"] == "Eine Postleitzahl hat fünf Ziffern, zum Beispiel 01067."


# --- Idempotency (DESIGN invariant 10) ------------------------------------------------------


def test_a_retry_with_the_same_key_gets_the_same_answer_and_writes_nothing(hotline):
    first = register(hotline, HTTP_IDEMPOTENCY_KEY="call-4711")
    # The same body with other key order and spacing is the same request.
    retry = hotline.generic(
        "POST",
        "/api/v1/registrations",
        json.dumps({"person": dict(reversed(list(ERIKA.items())))}, indent=2),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="call-4711",
    )
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Registration.objects.count() == 1
    assert AuditEntry.objects.filter(action="registration.create").count() == 1


def test_the_same_key_with_another_body_is_422(hotline):
    register(hotline, HTTP_IDEMPOTENCY_KEY="call-4712")
    response = register(hotline, ERIKA | {"first_name": "Max"}, HTTP_IDEMPOTENCY_KEY="call-4712")
    problem_of(response, 422, "idempotency_key_reused")
    assert Registration.objects.count() == 1


def test_keys_belong_to_their_client(make_hotline):
    one, two = make_hotline(), make_hotline()
    a = register(one, HTTP_IDEMPOTENCY_KEY="same")
    b = register(two, ERIKA | {"first_name": "Max"}, HTTP_IDEMPOTENCY_KEY="same")
    assert a.status_code == b.status_code == 201
    assert a.json()["code"] != b.json()["code"]


def test_while_the_first_request_runs_a_retry_is_409(hotline):
    claimed = idempotency_begin(client_id=hotline.client_row.pk, key="busy", fingerprint="other request")
    assert isinstance(claimed, services.Claimed)
    response = register(hotline, HTTP_IDEMPOTENCY_KEY="busy")
    # A running record with another fingerprint: the key was reused for another request.
    problem_of(response, 422, "idempotency_key_reused")


def test_a_retry_of_a_running_request_is_409_then_replayed(hotline, monkeypatch):
    """The first request's record is claimed before it runs; a retry meanwhile is told to wait."""
    seen = {}

    def create_and_retry(**kwargs):
        from booking.services.registrations import registration_create as real

        seen["retry"] = register(hotline, HTTP_IDEMPOTENCY_KEY="slow")  # arrives mid-request
        return real(**kwargs)

    monkeypatch.setattr("booking.api.views.registration_create", create_and_retry)
    first = register(hotline, HTTP_IDEMPOTENCY_KEY="slow")
    assert first.status_code == 201
    problem_of(seen["retry"], 409, "idempotency_in_progress")
    assert seen["retry"]["Retry-After"] == "1"
    assert register(hotline, HTTP_IDEMPOTENCY_KEY="slow").json() == first.json()


def test_a_server_error_is_not_stored_so_the_retry_runs_again(hotline, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("booking.api.views.registration_create", broken)
    failed = register(hotline, HTTP_IDEMPOTENCY_KEY="flaky")
    problem_of(failed, 500, "internal_error")
    monkeypatch.undo()
    retry = register(hotline, HTTP_IDEMPOTENCY_KEY="flaky")
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert Registration.objects.count() == 1


def test_client_errors_are_stored_like_successes(hotline):
    bad = ERIKA | {"postcode": "1234"}
    first = register(hotline, bad, HTTP_IDEMPOTENCY_KEY="bad-postcode")
    retry = register(hotline, bad, HTTP_IDEMPOTENCY_KEY="bad-postcode")
    assert first.status_code == retry.status_code == 400
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Content-Type"] == "application/problem+json"


def test_a_dead_requests_lease_runs_out_and_the_retry_takes_over(hotline):
    register(hotline, HTTP_IDEMPOTENCY_KEY="dead")
    # As if the worker had died after claiming the key (the registration then never committed).
    IdempotencyRecord.objects.filter(key="dead").update(
        state="running", status_code=None, locked_until=timezone.now() - timedelta(seconds=1)
    )
    Registration.objects.all().delete()
    assert register(hotline, HTTP_IDEMPOTENCY_KEY="dead").status_code == 201
    assert Registration.objects.count() == 1


def test_keys_are_kept_24_hours(hotline):
    register(hotline, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    again = register(hotline, ERIKA | {"first_name": "Max"}, HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201
    assert Registration.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "umlaut-ä"])
def test_invalid_keys_are_400(hotline, key):
    problem_of(register(hotline, HTTP_IDEMPOTENCY_KEY=key), 400, "idempotency_key_invalid")
    assert not Registration.objects.exists()


def test_old_counts_and_responses_are_purged(hotline):
    register(hotline, HTTP_IDEMPOTENCY_KEY="purge-me")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    ApiUsage.objects.update(minute=timezone.now() - timedelta(hours=2))
    assert api_records_purge() == (1, 1)
    assert not IdempotencyRecord.objects.exists() and not ApiUsage.objects.exists()


# --- Audit log (DESIGN invariant 13) --------------------------------------------------------


def test_every_write_is_in_the_audit_log_with_client_agent_action_object(make_hotline):
    api = make_hotline(agent="mueller.k")
    created = register(api, HTTP_IDEMPOTENCY_KEY="audit-1").json()
    register(api, ERIKA | {"postcode": "1234"})
    api.get("/api/v1/centres")  # reads are not writes
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_type, e.object_id, e.status_code, e.problem) for e in entries] == [
        ("registration.create", "registration", created["code"], 201, ""),
        ("registration.create", "", "", 400, "invalid"),
    ]
    assert {e.agent for e in entries} == {"mueller.k"}
    assert {e.client_id for e in entries} == {api.client_row.pk}
    assert entries[0].idempotency_key == "audit-1"


def test_refused_calls_before_authentication_leave_no_audit_entry(hotline):
    hotline.credentials()
    register(hotline)
    assert not AuditEntry.objects.exists()


# --- Every endpoint: no token, revoked token, wrong scope -----------------------------------

TOKEN = "00000000-0000-4000-8000-000000000000"
ENDPOINTS = [
    ("get", "/api/v1/centres", Scope.AVAILABILITY),
    ("get", "/api/v1/centres/DD01", Scope.AVAILABILITY),
    ("get", "/api/v1/availability", Scope.AVAILABILITY),
    ("get", "/api/v1/releases", Scope.AVAILABILITY),
    ("get", "/api/v1/releases/1", Scope.AVAILABILITY),
    ("post", "/api/v1/registrations", Scope.REGISTRATIONS),
    ("get", "/api/v1/registrations", Scope.REGISTRATIONS),
    ("get", "/api/v1/registrations/ABC", Scope.REGISTRATIONS),
    ("post", "/api/v1/holds", Scope.BOOKINGS),
    ("get", f"/api/v1/holds/{TOKEN}", Scope.BOOKINGS),
    ("delete", f"/api/v1/holds/{TOKEN}", Scope.BOOKINGS),
    ("post", f"/api/v1/holds/{TOKEN}/extend", Scope.BOOKINGS),
    ("post", "/api/v1/bookings", Scope.BOOKINGS),
    ("get", "/api/v1/bookings/ABC", Scope.BOOKINGS),
    ("patch", "/api/v1/bookings/ABC", Scope.BOOKINGS),
    ("delete", "/api/v1/bookings/ABC", Scope.BOOKINGS),
    ("get", "/api/v1/bookings/ABC/second-dose-options", Scope.BOOKINGS),
]


def test_the_endpoint_list_covers_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    documented = {
        (method, path.replace("{code}", "X").replace("{token}", "X").replace("{release_id}", "X"))
        for path, operations in schema["paths"].items()
        for method in operations
    }
    listed = {
        (method, path.replace("DD01", "X").replace("ABC", "X").replace(TOKEN, "X").replace("/1", "/X"))
        for method, path, _scope in ENDPOINTS
    }
    public = {("get", "/api/v1/public/availability")}  # the live overview's: no token (issue 7)
    assert listed | public == documented


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_wants_a_live_token_with_its_scope(make_hotline, method, path, scope):
    anonymous = make_hotline()
    anonymous.credentials(HTTP_X_AGENT_ID="agent-7")
    problem_of(getattr(anonymous, method)(path, {}, format="json"), 401, "not_authenticated")

    revoked = make_hotline()
    api_client_revoke(client=revoked.client_row)
    problem_of(getattr(revoked, method)(path, {}, format="json"), 401, "token_revoked")

    others = make_hotline(scopes=[s for s in Scope.values if s != scope])
    body = problem_of(getattr(others, method)(path, {}, format="json"), 403, "scope_missing")
    assert scope in body["detail"]
    assert not AuditEntry.objects.exists()  # refused before anything ran: nothing to record


def test_the_documentation_is_served_by_us_without_a_token(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and schema.content.startswith(b"openapi: 3")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
