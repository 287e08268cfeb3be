"""Shared set-up of the benchmarks: Django on a database of their own.

The benchmarks use a database named `impfportal_bench` on the embedded PostgreSQL (never the
demo's `impfportal`), dropped and created afresh at each start. With BENCH_DATABASE_URL they
use that database instead (it is emptied the same way: use a throwaway one).
"""

import argparse
import json
import os
import resource
import sys
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
