"""The embedded PostgreSQL for the demo and the tests: the binaries of the `pgserver` package.

Without DATABASE_URL, settings call `ensure_running`. The server is started once and
shared by every process (web, task worker, management commands); it is never stopped
when one of them exits. `make run` stops it on Ctrl-C, and a test run deletes its own
throwaway server. pgserver's own start/stop bookkeeping is not used: it rewrites a pid
file from every process at start and exit, and a process killed mid-write leaves it
corrupt, after which nothing starts.
"""

import fcntl
import os
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path

SUPERUSER = "postgres"
# postgres refuses to run as root; as root, the server runs as this system user (as pgserver does).
SYSTEM_USER_WHEN_ROOT = "pgserver"
# Settings beyond initdb's defaults, given on every start (so older data directories get them
# too): enough connections for gunicorn workers, the task worker and the benchmarks' concurrent
# clients; room for the WAL of a season's bulk planning (2.5 million rows) without a checkpoint
# every few seconds. Durability settings (fsync, synchronous_commit) stay at their defaults.
SERVER_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


class EmbeddedPostgresUnavailable(Exception):
    pass


def _pgserver():
    try:
        with warnings.catch_warnings():
            # Importing pgserver asks platformdirs for a runtime dir, which warns when
            # XDG_RUNTIME_DIR is unset (servers, CI); we do not use that directory.
            warnings.simplefilter("ignore")
            from pgserver import _commands, utils
    except ImportError:
        version = ".".join(map(str, sys.version_info[:2]))
        raise EmbeddedPostgresUnavailable(
            "DATABASE_URL is not set and the embedded PostgreSQL (package pgserver) is not installed"
            f" for Python {version}. pgserver supports CPython 3.11 and 3.12 only. Either install"
            " Python 3.12 (or 3.11) and run make again, or point DATABASE_URL at a PostgreSQL server,"
            " e.g. DATABASE_URL=postgres://user:password@localhost:5432/impfportal."
        ) from None
    return _commands, utils


def ensure_running(pgdata: Path, *, database: str) -> Path:
    """Start the server in `pgdata` unless it runs already; create `database`; return the socket dir."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    info = _running_info(pgdata)
    if info is None:
        with _lock(pgdata):
            # Several processes may start at once (web and worker): only the first one starts the server.
            info = _running_info(pgdata) or _start(pgdata)
    _create_database(info.socket_dir, database)
    return info.socket_dir


def _running_info(pgdata: Path):
    _, utils = _pgserver()
    if not (pgdata / "postmaster.pid").exists():
        return None
    try:
        info = utils.PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError, OSError):
        return None  # written half-way by a server that is just starting or crashed
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return info


@contextmanager
def _lock(pgdata: Path):
    with open(pgdata.parent / f".{pgdata.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(pgdata: Path):
    commands, utils = _pgserver()
    pgdata.mkdir(exist_ok=True)
    user = _prepare_permissions(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        commands.initdb(
            ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER], pgdata=pgdata, user=user
        )
    runtime_dir = Path(tempfile.gettempdir()) / "impfportal-pg-sockets"
    socket_dir = utils.find_suitable_socket_dir(pgdata, runtime_dir)
    if user is not None and socket_dir != pgdata:
        utils.ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    options = [
        '-h ""',
        f"-k {socket_dir}",
        *(f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()),
    ]
    commands.pg_ctl(
        ["-w", *(part for option in options for part in ("-o", option)), "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=60,
    )
    info = _running_info(pgdata)
    if info is None:
        raise EmbeddedPostgresUnavailable(f"The embedded PostgreSQL did not start; see {pgdata / 'log'}.")
    return info


def _prepare_permissions(pgdata: Path) -> str | None:
    """As root: make the server's system user and let it reach its binaries and data."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    commands, utils = _pgserver()
    utils.ensure_user_exists(SYSTEM_USER_WHEN_ROOT)
    utils.ensure_prefix_permissions(pgdata)
    utils.ensure_prefix_permissions(commands.POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "lib", readable)
    entry = pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER_WHEN_ROOT


def _create_database(socket_dir: Path, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=str(socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        # Another process (web or worker) may create it at the same moment.
        with suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def is_running(pgdata: Path) -> bool:
    return _running_info(pgdata) is not None


def stop(pgdata: Path) -> None:
    """Stop the server in `pgdata` if it runs (fast shutdown: open sessions are ended)."""
    if not is_running(pgdata):
        return
    commands, _ = _pgserver()
    user = SYSTEM_USER_WHEN_ROOT if os.geteuid() == 0 else None
    commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)


def delete(pgdata: Path) -> None:
    stop(pgdata)
    shutil.rmtree(pgdata, ignore_errors=True)
