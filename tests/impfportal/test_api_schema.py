"""The hotline API against its own OpenAPI document: property-based tests with schemathesis.

The schema is the live one, fetched from /api/schema/ of the WSGI application, and every
request goes through that application in this process, inside the test's database transaction,
with realistic data: DD01 planned and released (partly through a Release with a hotline
contingent), a registration, a booking and a live hold, under identifiers the generator is told
(CONFIG's dictionaries), so that a good share of the requests find something, not only 404s.
Each operation gets schemathesis' examples, coverage and fuzzing phases, derandomized.

Every response must be no server error and be what the schema says (status code, content type,
body), invalid requests must be refused, unsupported methods answered 405, and the token must be
enforced (CHECKS). The number of cases is counted from the calls and printed at the end:
"schemathesis: N cases over 17 operations, 0 failures", with N per operation; the same, with
the status and problem code of every answer, goes to var/schemathesis-summary.json (for the
docs; var/ is not in git).

The schema itself is checked too: drf-spectacular's validation without warnings, and every
operation documents the problem responses and the X-Agent-Id header.
"""

import collections
import json
import logging
import uuid
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import schemathesis
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from booking.models import Booking, Channel, Registration
from booking.services import holds
from booking.services.bookings import PersonData, booking_confirm
from booking.services.holds import hold_create_next
from booking.services.registrations import registration_create
from impfportal.api import services
from impfportal.api.services import api_client_create
from impfportal.api.views import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY
from impfportal.models import Scope
from impfportal.wsgi import application
from supply.models import Vaccine
from tests.booking.conftest import plan, release_planned, tomorrow
from tests.factories import CentreFactory
from waitingroom.models import Release
from waitingroom.services import release_schedule

AGENT = "schemathesis"
MAX_EXAMPLES = 30  # fuzzed cases per operation; with the other phases ~30 s for the file on 2 cores

# The data's identifiers, fixed so that the generator can be told them before the data exists.
REGISTRATION_CODE = "KMPX3T9Q7R"
BOOKING_CODE = "HJ4DWN7EAC"
REGISTERED_BORN, BOOKED_BORN = date(1938, 5, 17), date(1940, 1, 2)
HOLD_TOKEN = uuid.UUID("6f1c1f9e-3a4b-4c1d-9f7e-2b8a5d0c4e11")
RELEASE_ID = 4711
TOKEN = "ipx_schemathesis-0000000000000000000000000000"

# Checks on every response (ignored_auth also sends the request again without the token and with
# a wrong one; those probes are not counted as cases). Of schemathesis' other checks:
# - positive_data_acceptance is left out: it wants every schema-valid request accepted, but the
#   API also checks what a schema cannot say, and answers those with a documented problem: a
#   centre, vaccine or priority group that does not exist, a postcode that is malformed or
#   unknown, a birth date in the future or more than 120 years ago, date ranges (date_to before
#   date_from, too long), fields that exclude each other (starts_at or date, person or
#   registration_code), an Idempotency-Key used before for another request (422).
# - use_after_free, ensure_resource_availability and object_level_authorization follow links
#   between operations: they need schemathesis' stateful phase, not one operation at a time.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # On every case but those that leave out or spoil the token on purpose (expecting 401).
        "auth": {"openapi": {"hotlineToken": {"bearer": TOKEN}}},
        "parameters": {
            "header.X-Agent-Id": AGENT,
            # Real identifiers in about half the cases, generated ones in the rest.
            "path.code": {"dictionary": "codes", "probability": 0.5},
            "path.token": {"dictionary": "holds", "probability": 0.5},
            "path.release_id": {"dictionary": "releases", "probability": 0.5},
            "query.birth_date": {"dictionary": "birth_dates", "probability": 0.5},
            "body.birth_date": {"dictionary": "birth_dates", "probability": 0.5},
            "body.date": {"dictionary": "days", "probability": 0.5},
            "query.date_from": {"dictionary": "days", "probability": 0.5},
            "query.date_to": {"dictionary": "days", "probability": 0.5},
            "body.centre": {"dictionary": "centres", "probability": 0.5},
            "body.vaccine": {"dictionary": "vaccines", "probability": 0.5},
            "body.hold": {"dictionary": "holds", "probability": 0.5},
            "body.registration_code": {"dictionary": "codes", "probability": 0.5},
        },
        "dictionaries": {
            "codes": {"values": [REGISTRATION_CODE, BOOKING_CODE, "DD01"]},
            "holds": {"values": [str(HOLD_TOKEN)]},
            "releases": {"values": [RELEASE_ID]},
            "birth_dates": {"values": [REGISTERED_BORN.isoformat(), BOOKED_BORN.isoformat()]},
            # The planned days (tests/booking/conftest.py plans from tomorrow on).
            "days": {"values": [(tomorrow() + timedelta(days=n)).isoformat() for n in range(7)]},
            "centres": {"values": ["DD01"]},
            "vaccines": {"values": ["comirnaty", "moderna"]},
        },
        # Derandomized and without an example database: the same cases on every run and machine.
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)
# Loaded at import from the application itself (no database needed to describe the API).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

CASES: collections.Counter = collections.Counter()  # operation -> cases run
STATUSES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
FAILURES: collections.Counter = collections.Counter()
KEYS_DRAWN = [0]
SUMMARY_FILE = Path(django_settings.BASE_DIR) / "var" / "schemathesis-summary.json"


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """After the module: the number of cases, printed and written for the docs."""
    yield
    if not CASES:
        return
    total, failed = sum(CASES.values()), sum(FAILURES.values())
    line = f"schemathesis: {total} cases over {len(CASES)} operations, {failed} failures"
    data = {
        "total": total,
        "operations": len(CASES),
        "failures": failed,
        "max_examples": MAX_EXAMPLES,
        "checks": [check.__name__ for check in CHECKS],
        "cases": dict(sorted(CASES.items())),
        "statuses": {label: dict(sorted(counts.items())) for label, counts in sorted(STATUSES.items())},
    }
    SUMMARY_FILE.parent.mkdir(exist_ok=True)
    SUMMARY_FILE.write_text(json.dumps(data, indent=2) + "\n")
    # On the terminal with or without -s (pytest captures a fixture's teardown output).
    lines = ["", line] + [f"  {label}: {n}" for label, n in sorted(CASES.items())]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        for text in lines:
            reporter.write_line(text)


@pytest.fixture
def quiet_4xx():
    """No warning line for each of the many 4xx; 5xx are still logged."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security.csrf")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def wsgi_requests(quiet_4xx):
    """Requests through the WSGI application, inside the test's transaction: Django closes the
    connection after each request it handles, which the test client prevents, and so must we."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_data(db, monkeypatch, wsgi_requests):
    """DD01 planned and released, a registration, a booking and a live hold, and a hotline
    client with every scope whose token the requests carry."""
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre, release=False)
    release = Release.objects.create(
        id=RELEASE_ID,
        name="Freigabe Test",
        first_day=tomorrow(),
        last_day=tomorrow() + timedelta(days=6),
        opens_at=timezone.now() - timedelta(minutes=10),
        prequeue_minutes=60,
        hotline_percent=20,
        admission_limit=10,
        admission_minutes=20,
    )
    release_schedule(release=release)  # the first week, a fifth of it for the hotline
    release_planned()  # the rest at once, without a release
    with monkeypatch.context() as patch:  # the token the generator was given
        patch.setattr(services.secrets, "token_urlsafe", lambda _n: TOKEN.removeprefix(services.TOKEN_PREFIX))
        client, token = api_client_create(
            name="Schemathesis", scopes=list(Scope.values), requests_per_minute=1_000_000
        )
    registration = registration_create(
        person=PersonData("Erika", "Mustermann", REGISTERED_BORN, "01067", phone="0351 1234567"),
        channel=Channel.HOTLINE,
        agent=AGENT,
    )
    Registration.objects.filter(pk=registration.pk).update(code=REGISTRATION_CODE)
    pair = {
        "centre_id": centre.id,
        "vaccine_id": Vaccine.objects.get(code="comirnaty").id,
        "day": tomorrow(),
        "until": tomorrow() + timedelta(days=13),
        "channel": Channel.HOTLINE,
    }
    booked = hold_create_next(owner=f"hotline:{client.pk}:seed", **pair)
    booking = booking_confirm(
        token=booked.token,
        person=PersonData("Max", "Mustermann", BOOKED_BORN, "01067", email="max@example.org"),
        channel=Channel.HOTLINE,
        agent="seed",
    )
    Booking.objects.filter(pk=booking.pk).update(code=BOOKING_CODE)
    # Another agent's hold, so that the generator's new holds (agent "schemathesis") leave it.
    with monkeypatch.context() as patch:
        patch.setattr(holds, "uuid", SimpleNamespace(uuid4=lambda: HOLD_TOKEN))
        hold_create_next(owner=f"hotline:{client.pk}:seed-2", **pair)
    assert token == TOKEN


def _fresh_idempotency_key(case) -> None:
    """Three writes in four get an Idempotency-Key of their own, as a real client sends them:
    the generator gives many cases the same few keys, and nearly every write would be answered
    422 (key used before for another request) without reaching its service. The fourth keeps
    the drawn key, whose repeats test replays and reuse; an invalid key (a negative case) stays."""
    key = (case.headers or {}).get(IDEMPOTENCY_HEADER)
    if key is None or not IDEMPOTENCY_KEY.fullmatch(key):
        return
    KEYS_DRAWN[0] += 1
    if KEYS_DRAWN[0] % 4:
        case.headers[IDEMPOTENCY_HEADER] = f"{key[:240]}~{KEYS_DRAWN[0]}"


def _outcome(response) -> str:
    """The status code, and the problem's code for an error: "200", "422 not_eligible"."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        return f"{response.status_code} {json.loads(response.content)['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@pytest.mark.usefixtures("api_data")
def test_api_conforms_to_its_schema(case):
    label = case.operation.label
    CASES[label] += 1
    _fresh_idempotency_key(case)
    response = case.call()
    STATUSES[label][_outcome(response)] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except (FailureGroup, Exception):
        FAILURES[label] += 1
        raise


@pytest.mark.usefixtures("db", "quiet_4xx")
def test_unknown_address_written_to():
    """A write to an unknown address under /api/ is answered like a read: 404 as a problem
    document. The CSRF check is on, as for any client that is not Django's test client."""
    browserless = Client(enforce_csrf_checks=True)
    for method in ("post", "patch", "delete"):
        response = getattr(browserless, method)("/api/v1/holds/not-a-uuid/extend")
        assert response.status_code == 404, method
        assert response["Content-Type"] == "application/problem+json", method


# --- The schema itself ----------------------------------------------------------------------

PROBLEMS = {"400", "401", "403", "429"}
WRITE_PROBLEMS = {"409", "413", "415", "422"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _spectacular(tmp_path, *options) -> dict:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", *options, "--file", str(target))
    return yaml.safe_load(target.read_text())


def test_schema_validates_without_warnings(tmp_path, capsys):
    """drf-spectacular's generation without a warning or error, and the result valid against
    the OpenAPI 3 meta-schema (`manage.py spectacular --validate --fail-on-warn`)."""
    assert _spectacular(tmp_path, "--validate", "--fail-on-warn")["paths"]
    assert capsys.readouterr().err == ""


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def test_every_operation_documents_problems_and_agent_header(tmp_path):
    """In the schema /api/schema/ serves (the one the tests above ran against, the same as
    `manage.py spectacular` writes): the problem documents every operation can answer, the
    X-Agent-Id header and the token."""
    operations = list(_operations(schema.raw_schema))
    generated = _operations(_spectacular(tmp_path))
    assert {(method, path) for method, path, _ in operations} == {(m, p) for m, p, _ in generated}
    assert len(operations) >= 17
    for method, path, operation in operations:
        label = f"{method} {path}"
        responses = operation["responses"]
        if path == "/api/v1/public/availability":  # the live overview's: for anyone, no token or agent
            assert "security" not in operation or operation["security"] in ([], [{}]), label
            assert list(responses["400"]["content"]) == ["application/problem+json"], label
            continue
        for status in PROBLEMS | (WRITE_PROBLEMS if method != "GET" else set()):
            assert status in responses, f"{label}: no {status}"
            assert list(responses[status]["content"]) == ["application/problem+json"], (label, status)
            assert responses[status]["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }, (label, status)
        for status, response in responses.items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (label, status)
        agent = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "X-Agent-Id"]
        assert len(agent) == 1 and agent[0]["required"] is True, label
        assert operation["security"] == [{"hotlineToken": []}], label
