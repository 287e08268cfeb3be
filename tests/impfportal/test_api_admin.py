"""Staff manage the hotline API's clients in the admin: a new client's token is shown once and
stored only as a digest, a client is revoked rather than deleted, and the audit log can be read
but never changed, not even in the database."""

import hashlib
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.db import DatabaseError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from impfportal.api.services import api_client_create, audit_record
from impfportal.models import ApiClient, AuditEntry

pytestmark = pytest.mark.django_db
ADD = "/admin/impfportal/apiclient/add/"
CLIENTS = "/admin/impfportal/apiclient/"
AUDIT = "/admin/impfportal/auditentry/"
HOLD = "6f1c1f9e-3a4b-4c1d-9f7e-2b8a5d0c4e11"


def add_client(admin_client, name="Call-Center Leipzig", scopes=("availability", "bookings"), rate=600):
    return admin_client.post(ADD, {"name": name, "scopes": list(scopes), "requests_per_minute": rate})


def token_on(response) -> str:
    match = re.search(r'<input id="api-token"[^>]* value="([^"]+)"', response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def api(token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AGENT_ID="agent-7")


# --- Clients --------------------------------------------------------------------------------


def test_a_new_client_gets_its_token_once_on_the_page_after_saving(admin_client, admin_user):
    response = add_client(admin_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Der Zugang „Call-Center Leipzig“ ist angelegt." in page
    assert "Es wird nur jetzt angezeigt" in page
    assert "Rechte: availability, bookings · Anfragen je Minute: 600" in page
    token = token_on(response)
    assert token.startswith("ipx_") and len(token) > 40
    # Not cached anywhere on the way (the admin's pages never are).
    assert "no-store" in response["Cache-Control"]

    client = ApiClient.objects.get()
    assert (client.name, client.scopes, client.requests_per_minute) == (
        "Call-Center Leipzig",
        ["availability", "bookings"],
        600,
    )
    assert client.created_by == admin_user and client.revoked_at is None
    # Its page and the list show how the token begins, never the token.
    for url in (CLIENTS, reverse("admin:impfportal_apiclient_change", args=[client.pk])):
        shown = admin_client.get(url).content.decode()
        assert f"{token[:10]}…" in shown and token not in shown


def test_only_the_tokens_digest_is_stored(admin_client):
    token = token_on(add_client(admin_client))
    client = ApiClient.objects.get()
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    secret = token.removeprefix("ipx_")
    stored = [str(value) for value in ApiClient.objects.values().get().values()]
    stored += [str(value) for entry in LogEntry.objects.values() for value in entry.values()]
    assert not [value for value in stored if secret[:16] in value]


def test_the_token_from_the_admin_works_with_its_scopes_only(admin_client):
    token = token_on(add_client(admin_client, scopes=["availability"]))
    response = api(token).get("/api/v1/centres")
    assert response.status_code == 200 and response.json()["count"] == 0
    refused = api(token).post("/api/v1/holds", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "scope_missing")


def test_a_client_needs_a_unique_name_and_a_scope(admin_client):
    add_client(admin_client, name="Call-Center Dresden")
    again = add_client(admin_client, name="Call-Center Dresden")
    assert again.status_code == 200 and 'id="api-token"' not in again.content.decode()
    assert "existiert bereits" in again.content.decode()
    no_scope = add_client(admin_client, name="Call-Center Chemnitz", scopes=[])
    assert no_scope.status_code == 200 and 'id="api-token"' not in no_scope.content.decode()
    assert list(ApiClient.objects.values_list("name", flat=True)) == ["Call-Center Dresden"]


def test_staff_change_a_clients_scopes_and_its_token_stays(admin_client):
    token = token_on(add_client(admin_client, scopes=["bookings"]))
    client = ApiClient.objects.get()
    assert api(token).get("/api/v1/centres").status_code == 403
    response = admin_client.post(
        reverse("admin:impfportal_apiclient_change", args=[client.pk]),
        {"name": client.name, "scopes": ["availability", "bookings"], "requests_per_minute": 600},
    )
    assert response.status_code == 302
    client.refresh_from_db()
    assert sorted(client.scopes) == ["availability", "bookings"]
    assert api(token).get("/api/v1/centres").status_code == 200


def test_revoking_a_client_locks_its_token_out(admin_client):
    token = token_on(add_client(admin_client))
    _other, other_token = api_client_create(name="Call-Center Zwickau", scopes=["availability"])
    client = ApiClient.objects.get(name="Call-Center Leipzig")
    assert api(token).get("/api/v1/centres").status_code == 200

    response = admin_client.post(CLIENTS, {"action": "revoke", "_selected_action": [client.pk]}, follow=True)

    assert "1 Zugang/Zugänge widerrufen." in response.content.decode()
    client.refresh_from_db()
    assert client.revoked_at is not None
    assert "widerrufen am" in response.content.decode()
    refused = api(token).get("/api/v1/centres")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_revoked"
    assert api(other_token).get("/api/v1/centres").status_code == 200  # the others keep working
    # Revoked stays revoked: its page no longer lets anyone edit it.
    change = admin_client.get(reverse("admin:impfportal_apiclient_change", args=[client.pk]))
    assert 'name="name"' not in change.content.decode()


def test_clients_cannot_be_deleted(admin_client):
    add_client(admin_client)
    client = ApiClient.objects.get()
    assert "delete_selected" not in admin_client.get(CLIENTS).content.decode()
    assert admin_client.get(reverse("admin:impfportal_apiclient_delete", args=[client.pk])).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:impfportal_apiclient_delete", args=[client.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    admin_client.post(CLIENTS, {"action": "delete_selected", "_selected_action": [client.pk], "post": "yes"})
    assert ApiClient.objects.filter(pk=client.pk).exists()


# --- The audit log --------------------------------------------------------------------------


@pytest.fixture
def entry(db):
    client, _token = api_client_create(name="Call-Center Görlitz", scopes=["bookings"])
    audit_record(
        client_id=client.pk,
        agent="agent-42",
        action="hold.create",
        object_type="hold",
        object_id=HOLD,
        status_code=201,
    )
    return AuditEntry.objects.get()


def test_the_audit_log_lists_every_write(admin_client, entry):
    page = admin_client.get(AUDIT).content.decode()
    assert "Call-Center Görlitz" in page and "agent-42" in page and "hold.create" in page
    assert HOLD in page
    # Staff find an agent's writes, or everything done to one object.
    for query in ("agent-42", "6f1c1f9e"):
        assert HOLD in admin_client.get(AUDIT, {"q": query}).content.decode()
    assert HOLD not in admin_client.get(AUDIT, {"q": "agent-99"}).content.decode()


def test_the_audit_log_cannot_be_added_to_changed_or_deleted_in_the_admin(admin_client, entry):
    assert admin_client.get(AUDIT + "add/").status_code == 403
    change = reverse("admin:impfportal_auditentry_change", args=[entry.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert admin_client.post(change, {"agent": "someone-else"}).status_code == 403
    assert admin_client.get(reverse("admin:impfportal_auditentry_delete", args=[entry.pk])).status_code == 403
    assert "delete_selected" not in admin_client.get(AUDIT).content.decode()
    assert AuditEntry.objects.get().agent == "agent-42"


def test_the_database_refuses_to_change_or_delete_audit_entries(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(agent="someone-else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.agent = "someone-else"
        entry.save()
    assert AuditEntry.objects.get().agent == "agent-42"
