"""The one module that takes locks (STYLE.md: "Writes, transactions and locks").

Locks are PostgreSQL advisory locks held until the transaction ends, taken in a fixed
order (by key) and with a lock timeout that becomes a domain "busy" error instead of a
request that hangs.
"""

from collections.abc import Iterable
from contextlib import contextmanager

from django.db import OperationalError, connection

from supply.exceptions import PlanningBusy, UploadBusy

# First key of the two-key advisory lock: one namespace per kind of lock.
_PLANNING = 1
_DELIVERY_UPLOADS = 2
_TICKER = 3
LOCK_TIMEOUT_MS = 10_000


def lock_centres_for_planning(centre_ids: Iterable[int]) -> None:
    """Hold the planning lock of each centre until the transaction ends.

    The planner and whatever releases planned appointments take it, so that a release never
    marks appointments that a running re-plan is about to withdraw.
    """
    with _advisory(PlanningBusy) as take:
        for centre_id in sorted(set(centre_ids)):
            take(_PLANNING, centre_id)


def lock_delivery_uploads() -> None:
    """Hold the lock that lets one delivery upload be applied at a time, until the transaction ends."""
    with _advisory(UploadBusy) as take:
        take(_DELIVERY_UPLOADS, 0)


@contextmanager
def ticker_lock():
    """Yield True if this process may run the waiting room's ticker (no other one runs), holding
    a session lock across the ticker's many short transactions; False at once otherwise."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, 0)", [_TICKER])
        mine = cursor.fetchone()[0]
        try:
            yield mine
        finally:
            if mine:
                cursor.execute("SELECT pg_advisory_unlock(%s, 0)", [_TICKER])


@contextmanager
def _advisory(busy_error):
    if not connection.in_atomic_block:
        raise RuntimeError("advisory locks are held until commit: call inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
        try:
            yield lambda namespace, key: cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [namespace, key]
            )
        except OperationalError as exc:
            # The transaction is aborted now: no statement (not even resetting the timeout) may
            # run in it, or its error would hide the "busy" one.
            raise busy_error() from exc
        cursor.execute("SET LOCAL lock_timeout = 0")
