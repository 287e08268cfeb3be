import pytest
from django.core.exceptions import ImproperlyConfigured

from impfportal.database import parse_database_url


def test_parses_a_full_url():
    config = parse_database_url("postgres://drk:p%40ss@db.internal:5433/impfportal?sslmode=require")
    assert config["NAME"] == "impfportal"
    assert (config["USER"], config["PASSWORD"]) == ("drk", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "5433")
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["ENGINE"] == "django.db.backends.postgresql"


def test_accepts_a_socket_directory_as_host_parameter():
    config = parse_database_url("postgresql://postgres@/impfportal?host=/var/run/postgresql")
    assert config["HOST"] == "/var/run/postgresql"
    assert config["OPTIONS"] == {}


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite3", "mysql://u:p@h/db", "impfportal"])
def test_refuses_other_databases(url):
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL only"):
        parse_database_url(url)


def test_refuses_url_without_database_name():
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        parse_database_url("postgres://u:p@localhost:5432/")


def test_refuses_non_numeric_port():
    with pytest.raises(ImproperlyConfigured, match="port that is not a number"):
        parse_database_url("postgres://u:p@localhost:fivefourthreetwo/impfportal")
