import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_healthz_answers_whatever_the_host_header_says(client):
    # The container HEALTHCHECK calls localhost, which production's ALLOWED_HOSTS need not list.
    response = client.get("/healthz", headers={"host": "10.0.0.7:8000"})
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps later tests' data
def test_healthz_names_the_database_when_it_is_unreachable(client):
    connection.close()
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = "no_such_database"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "error: OperationalError"}
