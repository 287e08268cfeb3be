"""Where the database is: DATABASE_URL, or the embedded PostgreSQL of `pgserver` under var/."""

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def parse_database_url(url: str) -> dict:
    """Django DATABASES entry for a postgres:// URL. Other databases are refused: PostgreSQL only."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgres:// or postgresql://, not {parts.scheme or '(nothing)'}://;"
            " the project runs on PostgreSQL only."
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(
            "DATABASE_URL names no database (postgres://user:password@host:5432/NAME)."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("DATABASE_URL has a port that is not a number.") from None
    options = dict(parse_qsl(parts.query))
    # A socket directory may be given as ?host=/path, as libpq allows.
    host = options.pop("host", None) or unquote(parts.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def embedded_database(pgdata: Path, name: str) -> dict:
    """Start (or reuse) the embedded server in `pgdata` and return its DATABASES entry."""
    from impfportal import embedded_postgres

    try:
        socket_dir = embedded_postgres.ensure_running(pgdata, database=name)
    except embedded_postgres.EmbeddedPostgresUnavailable as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": embedded_postgres.SUPERUSER,
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "OPTIONS": {},
    }
