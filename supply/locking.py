"""The one module that takes locks (STYLE.md: "Writes, transactions and locks").

Locks are PostgreSQL advisory locks held until the transaction ends, taken in a fixed
order (by key) and with a lock timeout that becomes a domain "busy" error instead of a
request that hangs.
"""

from collections.abc import Iterable

from django.db import OperationalError, connection
from django.utils.translation import gettext_lazy as _


class PlanningBusy(Exception):
    message = _("Die Planung dieses Impfzentrums läuft gerade; bitte in einer Minute erneut versuchen.")


# First key of the two-key advisory lock: one namespace per kind of lock.
_PLANNING = 1
LOCK_TIMEOUT_MS = 10_000


def lock_centres_for_planning(centre_ids: Iterable[int]) -> None:
    """Hold the planning lock of each centre until the transaction ends.

    The planner and whatever releases planned appointments take it, so that a release never
    marks appointments that a running re-plan is about to withdraw.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("planning locks are held until commit: call inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
        try:
            for centre_id in sorted(set(centre_ids)):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PLANNING, centre_id])
        except OperationalError as exc:
            raise PlanningBusy() from exc
        finally:
            cursor.execute("SET LOCAL lock_timeout = 0")
