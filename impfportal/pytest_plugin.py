"""pytest plugin (loaded with `-p` before Django settings are read).

Gives each test run a throwaway embedded PostgreSQL of its own, never the demo's
(unless DATABASE_URL points at an external server), and runs tasks synchronously.
"""

import os
import shutil
import tempfile
from pathlib import Path

_throwaway: Path | None = None

if not os.environ.get("DATABASE_URL") and not os.environ.get("EMBEDDED_PGDATA"):
    # Short path under /tmp: the server's unix socket lives in it (socket paths max ~100 bytes).
    _throwaway = Path(tempfile.mkdtemp(prefix="impfportal-test-pg-")) / "pgdata"
    os.environ["EMBEDDED_PGDATA"] = str(_throwaway)
os.environ.setdefault("Q_SYNC", "1")


def pytest_unconfigure(config):
    if _throwaway is not None:
        from impfportal import embedded_postgres

        embedded_postgres.delete(_throwaway)
        shutil.rmtree(_throwaway.parent, ignore_errors=True)
