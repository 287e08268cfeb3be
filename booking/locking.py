"""The one module of the booking app that locks: claims on appointment rows.

Claims never wait on each other: candidate rows are locked with `FOR UPDATE SKIP LOCKED`, so a
row another transaction is claiming right now is simply passed over, and the claim writes
`claim_token` / `claimed_until` (or `booked`) on rows it has locked. Whether an appointment is
free is decided by the SQL in `FREE` alone, the same condition the availability selector
counts with (DESIGN invariant 7). Every function here runs inside the caller's transaction
and refuses to run outside one.
"""

import json
import uuid
from datetime import datetime

from django.db import connection

from booking.exceptions import SlotTaken

# Released: a release has opened it (the planner never replaces a released appointment, so
# booking only ever touches rows the planner keeps). The hotline contingent is the hotline's.
RELEASED = "{a}.bookable_from <= now()"
UNCLAIMED = "({a}.claimed_until IS NULL OR {a}.claimed_until < now())"
FREE = "NOT {a}.booked AND " + UNCLAIMED + " AND " + RELEASED
CHANNEL = {"online": " AND NOT {a}.hotline_only", "hotline": ""}


def free(alias: str, channel: str = "online") -> str:
    """SQL: the appointment `alias` can be claimed now through `channel` (released, unbooked, no
    live hold; online, not kept back for the hotline)."""
    return (FREE + CHANNEL[channel]).format(a=alias)


def _in_transaction(cursor) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("claims hold row locks until commit: call inside transaction.atomic()")


def claim_pair(
    first_id: int, token: uuid.UUID, minutes: int, channel: str = "online"
) -> tuple[int, int | None, datetime]:
    """Claim a first-dose appointment and its second dose for `minutes`.

    Returns (first id, second id, claimed until). Raises SlotTaken unless both were free and
    not being claimed by anyone else at this moment.
    """
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute(
            f"SELECT a.id, a.second_id FROM supply_appointment a"
            f" WHERE a.id = %s AND a.dose = 1 AND {free('a', channel)} FOR UPDATE SKIP LOCKED",
            [first_id],
        )
        row = cursor.fetchone()
        if row is None:
            raise SlotTaken()
        return _claim_with_second(cursor, row[0], row[1], token, minutes, channel)


# The hotline draws on a release's hotline contingent first, then on the shared pool.
ORDER = {"online": "a.starts_at", "hotline": "a.hotline_only DESC, a.starts_at"}


def claim_next_pair(
    centre_id: int,
    vaccine_id: int,
    start: datetime,
    end: datetime,
    token: uuid.UUID,
    minutes: int,
    channel: str = "online",
) -> tuple[int, int | None, datetime] | None:
    """Claim the earliest free pair whose first dose lies in [start, end), or return None; for
    the hotline, the earliest of its contingent if there is one.

    The pick is a range scan of appointment_free_first_idx in starts_at order; rows locked by
    other claims are skipped, never waited for. A first dose whose second dose is being
    claimed by someone else stays locked by this transaction and is passed over too.
    """
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        tried = []
        for _attempt in range(5):
            cursor.execute(
                f"""
                SELECT a.id, a.second_id FROM supply_appointment a
                WHERE a.centre_id = %s AND a.vaccine_id = %s AND a.dose = 1
                  AND a.starts_at >= %s AND a.starts_at < %s AND {free("a", channel)} AND a.id <> ALL(%s)
                ORDER BY {ORDER[channel]} LIMIT 1 FOR UPDATE SKIP LOCKED
                """,
                [centre_id, vaccine_id, start, end, tried],
            )
            row = cursor.fetchone()
            if row is None:
                return None
            try:
                return _claim_with_second(cursor, row[0], row[1], token, minutes, channel)
            except SlotTaken:
                tried.append(row[0])  # its second dose is being claimed: try the next pair
        return None


def _claim_with_second(cursor, first_id, second_id, token, minutes, channel):
    if second_id is not None:
        cursor.execute(
            f"SELECT a.id FROM supply_appointment a WHERE a.id = %s AND {free('a', channel)}"
            " FOR UPDATE SKIP LOCKED",
            [second_id],
        )
        if cursor.fetchone() is None:
            raise SlotTaken()
    cursor.execute(
        "UPDATE supply_appointment SET claim_token = %s, claimed_until = now() + make_interval(mins => %s)"
        " WHERE id = ANY(%s) RETURNING claimed_until",
        [token, minutes, [first_id] if second_id is None else [first_id, second_id]],
    )
    claimed_until = cursor.fetchone()[0]
    return first_id, second_id, claimed_until


def lock_held(token: uuid.UUID, appointment_ids: list[int]) -> bool:
    """Lock the appointments of a hold (waiting for a concurrent confirm of the same hold, which
    then decides). True if every one of them still exists and is claimed by this token, unexpired
    at this very moment (clock_timestamp, not when the transaction began): a hold that ran out
    while its confirm was on the way is refused."""
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute(
            """
            SELECT claim_token = %s AND claimed_until >= clock_timestamp()
            FROM supply_appointment WHERE id = ANY(%s) ORDER BY id FOR UPDATE
            """,
            [token, appointment_ids],
        )
        live = [row[0] for row in cursor.fetchall()]
    return len(live) == len(appointment_ids) and all(live)


def lock_appointments(appointment_ids: list[int]) -> None:
    """Lock appointments this transaction is about to change that are already its own (a
    booking's pair), in id order so that two changes of one booking queue up."""
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute(
            "SELECT id FROM supply_appointment WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [appointment_ids],
        )


def claim_free_pair_rows(first_id: int, second_id: int) -> bool:
    """Lock another free pair (first and its second) without waiting, to swap second doses
    with it. False if either is taken or being claimed right now."""
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT a.id FROM supply_appointment a
                WHERE a.id = ANY(%s) AND {free("a")}
                  AND ((a.id = %s AND a.dose = 1 AND a.second_id = %s) OR (a.id = %s AND a.dose = 2))
                FOR UPDATE SKIP LOCKED
            ) locked
            """,
            [[first_id, second_id], first_id, second_id, second_id],
        )
        return cursor.fetchone()[0] == 2


def claim_overview_refresh(older_than_seconds: float) -> bool:
    """Lock the live overview's row if it is older than `older_than_seconds` and no one else is
    recomputing it right now; then this transaction recomputes it. False: it is fresh, or being
    recomputed (the caller serves the row as it is: never wait for another count)."""
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute(
            "SELECT id FROM booking_overviewsnapshot"
            " WHERE id = 1 AND computed_at < now() - make_interval(secs => %s) FOR UPDATE SKIP LOCKED",
            [older_than_seconds],
        )
        return cursor.fetchone() is not None


def overview_after_count() -> dict:
    """The live overview's stored numbers once a recount running now has committed (a share lock
    waits for the counting transaction's row lock: one count at most)."""
    with connection.cursor() as cursor:
        _in_transaction(cursor)
        cursor.execute("SELECT data FROM booking_overviewsnapshot WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
    if row is None:
        return {}
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])
