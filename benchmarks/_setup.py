"""Shared set-up of the benchmarks: Django on a database of their own.

The benchmarks use a database named `impfportal_bench` on the embedded PostgreSQL (never the
demo's `impfportal`), dropped and created afresh at each start. With BENCH_DATABASE_URL they
use that database instead (it is emptied the same way: use a throwaway one).
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "impfportal_bench"


def setup_django(*, fresh: bool = True) -> None:
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impfportal.settings")
    os.environ["Q_SYNC"] = "0"  # measure the services, not tasks that a worker would run later
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["EMBEDDED_DATABASE_NAME"] = BENCH_DATABASE
        if fresh:
            _drop_embedded_bench_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _drop_embedded_bench_database() -> None:
    import psycopg

    from impfportal import embedded_postgres

    pgdata = Path(os.environ.get("EMBEDDED_PGDATA", PROJECT / "var" / "pgdata")).resolve()
    socket_dir = embedded_postgres.ensure_running(pgdata, database="postgres")
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def arguments(description: str, extra=None) -> argparse.Namespace:
    """--json, and the benchmark's own options added by `extra(parser)`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(title: str, rows: list[tuple[str, object, str]], *, as_json: bool) -> None:
    """rows: (key, value, explanation). A table for people, or one JSON object of key: value."""
    if as_json:
        print(json.dumps({key: value for key, value, _ in rows}))
        return
    print(title)
    width = max(len(key) for key, _, _ in rows)
    for key, value, explanation in rows:
        shown = (
            f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        )
        print(f"  {key:<{width}}  {shown:>14}  {explanation}")


@contextmanager
def gunicorn(*, workers: int, threads: int = 1, env: dict[str, str] | None = None):
    """Serve the project with gunicorn.conf.py as in production (DEBUG off, collected static
    files) on a free loopback port against the benchmark's database; yields the port, and stops
    the server (the whole process group) on exit. `env` adds or overrides environment variables."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    static_root = tempfile.mkdtemp(prefix="impfportal-bench-static-")
    server_env = (
        os.environ
        | {
            "DEBUG": "false",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgresql://{database['USER']}@/{database['NAME']}?host={database['HOST']}",
            "STATIC_ROOT": static_root,
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        | (env or {})
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT,
        env=server_env,
        check=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(PROJECT / ".venv/bin/gunicorn"),
            "impfportal.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=PROJECT,
        env=server_env,
        start_new_session=True,
    )
    try:
        wait_until_up(port)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int) -> None:
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def one_day_released(*, name: str, centre_code: str = "CN01", days_ahead: int = 1, hotline_percent: int = 0):
    """A centre's appointments of tomorrow, or `days_ahead` days from today (12,000 doses of
    Comirnaty delivered: the day's full capacity), planned and released a minute ago with
    `hotline_percent` of the pairs kept for the hotline. Returns (centre, day, release)."""
    from datetime import timedelta

    from django.utils import timezone

    from centres.models import Centre
    from centres.services import centres_load
    from supply.models import Delivery, PlanRun, Vaccine
    from supply.services.planning import plan_run_execute
    from waitingroom.models import Release
    from waitingroom.services import release_schedule

    centres_load()
    centre = Centre.objects.get(code=centre_code)
    day = timezone.localdate() + timedelta(days=days_ahead)
    comirnaty = Vaccine.objects.get(code="comirnaty")
    Delivery.objects.create(centre=centre, vaccine=comirnaty, date=day, doses=12_000, status="delivered")
    plan_run_execute(
        run_id=PlanRun.objects.create(reason=f"benchmark: {name}").pk, plan_from=day, plan_to=day
    )
    release = Release.objects.create(
        name=f"benchmark: {name}",
        first_day=day,
        last_day=day,
        opens_at=timezone.now() - timedelta(minutes=1),
        hotline_percent=hotline_percent,
    )
    release.centres.set([centre])
    return centre, day, release_schedule(release=release)
