"""With DEBUG off the project refuses to start without what production needs.

Settings are read once per process, so each case imports them in a fresh interpreter.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-key",
    "ALLOWED_HOSTS": "impfportal.example",
    "DATABASE_URL": "postgres://impfportal:secret@db.internal:5432/impfportal",
}
PRINT_SETTINGS = (
    "from django.conf import settings;"
    "print(settings.DATABASES['default']['HOST'], settings.STORAGES['staticfiles']['BACKEND'],"
    " settings.SESSION_COOKIE_SECURE)"
)


def load_settings(**overrides):
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION and "PGDATA" not in key}
    env |= {key: value for key, value in (PRODUCTION | overrides).items() if value is not None}
    env["DJANGO_SETTINGS_MODULE"] = "impfportal.settings"
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_load_when_complete():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    host, storage, secure_cookies = result.stdout.split()
    assert host == "db.internal"
    assert storage == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert secure_cookies == "True"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set when DEBUG is off"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS must be set when DEBUG is off"),
        ("DATABASE_URL", "DATABASE_URL must be set when DEBUG is off"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    result = load_settings(**{missing: None})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_bad_value_stops_the_start_with_the_variables_name():
    result = load_settings(CONN_MAX_AGE="eine Minute")
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be a whole number" in result.stderr
