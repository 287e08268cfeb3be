"""What a planning run knows of a centre's existing appointments, and where it gets it from.

Aggregating a centre's appointments (up to 400,000 rows) took two fifths of a re-plan. Only
the planner inserts and deletes appointments, so after each run it stores the result
(CentrePlanState) and the next run starts from that instead. The state is trusted only while
the centre's appointment count matches it; a release, which turns replaceable pairs into kept
ones, forgets it. A pair the state wrongly thinks replaceable (booked or released behind its
back) cannot be withdrawn: the delete re-checks every row, the planning service notices the
missing rows and plans the centre again from a full read (StalePlanState).

Both are kept as int64 arrays of rows: appointments as (vaccine, epoch seconds, dose, count),
pairs as (vaccine, first dose's epoch seconds, second dose's or -1, count). Python Counters of
tuples cost as much as the reads they replace.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection

from supply.models import CentrePlanState

NO_SECOND = -1  # a single-dose appointment's second time


def unreleased(alias: str) -> str:
    """SQL: the appointment `alias` is the planner's to replace as far as booking goes: neither
    released nor booked. Every appointment booking holds or rearranges is marked released at
    that moment (booking/locking.py), so a held or once-booked pair is kept too."""
    return f"NOT {alias}.booked AND {alias}.bookable_from IS NULL"


class StalePlanState(Exception):
    """The stored state did not match the appointments: plan the centre again from a full read."""


@dataclass
class Existing:
    """A centre's appointments from `window_start` on."""

    before: Counter  # vaccine -> appointments before window_start
    appointments: np.ndarray  # rows (vaccine, epoch, dose, count), from window_start on
    pairs: np.ndarray  # rows (vaccine, first epoch, second epoch or -1, count): unreleased, unbooked
    state: CentrePlanState | None  # where they came from, if not from a full read

    @property
    def from_state(self) -> bool:
        return self.state is not None


def existing_appointments(centre_id: int, window_start: datetime, *, trust_state: bool) -> Existing:
    """The centre's appointments from `window_start` on. Precondition: the centre's planning lock."""
    if trust_state:
        state = CentrePlanState.objects.filter(centre_id=centre_id, window_start__lte=window_start).first()
        if state is not None and _count_from(centre_id, state.window_start) == state.total:
            return _from_state(state, int(window_start.timestamp()))
    return _read(centre_id, window_start)


def remember(centre_id: int, window_start: datetime, existing: Existing, surplus: Counter, missing: Counter):
    """Store the centre's appointments after a run withdrew `surplus` pairs and added `missing` ones.

    A run that changed nothing leaves a stored state as it is: it still describes the
    appointments from its own, earlier start on.
    """
    if existing.from_state and not surplus and not missing:
        return
    appointments = summed(existing.appointments, doses(surplus, -1), doses(missing, 1))
    pairs = summed(existing.pairs, pair_rows(surplus, -1), pair_rows(missing, 1))
    CentrePlanState.objects.update_or_create(
        centre_id=centre_id,
        defaults={
            "window_start": window_start,
            "total": int(appointments[:, 3].sum()),
            "before": {str(vaccine_id): count for vaccine_id, count in existing.before.items()},
            "appointments": _pack(appointments),
            "pairs": _pack(pairs),
        },
    )


def forget(centre_ids) -> None:
    """Drop the stored state of these centres (a release changed which pairs are replaceable).
    Precondition: their planning locks are held."""
    CentrePlanState.objects.filter(centre_id__in=list(centre_ids)).delete()


def pair_rows(pairs: Counter, sign: int) -> np.ndarray:
    """Pairs keyed (vaccine, first, second or None) as rows, counts times `sign`."""
    rows = [
        (vaccine_id, first_at, NO_SECOND if second_at is None else second_at, sign * count)
        for (vaccine_id, first_at, second_at), count in pairs.items()
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def pair_counter(rows: np.ndarray) -> Counter:
    """Pair rows as a Counter keyed (vaccine, first, second or None): the inverse of pair_rows."""
    return Counter(
        {
            (vaccine_id, first_at, None if second_at == NO_SECOND else second_at): count
            for vaccine_id, first_at, second_at, count in rows.tolist()
        }
    )


def doses(pairs, sign: int = 1) -> np.ndarray:
    """The appointments of some pairs (a Counter or pair rows) as appointment rows, counts times `sign`."""
    rows = pairs if isinstance(pairs, np.ndarray) else pair_rows(pairs, 1)
    firsts = rows[:, [0, 1, 3]]
    seconds = rows[rows[:, 2] != NO_SECOND][:, [0, 2, 3]]
    result = np.empty((len(firsts) + len(seconds), 4), np.int64)
    result[: len(firsts), [0, 1, 3]] = firsts
    result[: len(firsts), 2] = 1
    result[len(firsts) :, [0, 1, 3]] = seconds
    result[len(firsts) :, 2] = 2
    result[:, 3] *= sign
    return result


def summed(*parts: np.ndarray) -> np.ndarray:
    """Rows with equal keys (all columns but the last) merged, their counts added; zero counts
    dropped. Sorted with lexsort: numpy's unique over rows was ten times slower."""
    rows = np.concatenate(parts)
    if not len(rows):
        return rows
    rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
    starts = np.flatnonzero(np.concatenate([[True], np.any(rows[1:, :3] != rows[:-1, :3], axis=1)]))
    result = rows[starts].copy()
    result[:, 3] = np.add.reduceat(rows[:, 3], starts)
    return result[result[:, 3] != 0]


def _pack(rows: np.ndarray) -> bytes:
    """Stored as 32-bit integers (epoch seconds fit until 2038): half the bytes to write."""
    return rows.astype(np.int32).tobytes()


def _unpack(data) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.int32).reshape(-1, 4).astype(np.int64)


def _from_state(state: CentrePlanState, start: int) -> Existing:
    """The stored state moved on to a later window start: what lies between counts as before."""
    appointments, pairs = _unpack(state.appointments), _unpack(state.pairs)
    before = Counter({int(vaccine_id): count for vaccine_id, count in state.before.items()})
    earlier = appointments[:, 1] < start
    for vaccine_id in np.unique(appointments[earlier, 0]).tolist():
        before[vaccine_id] += int(appointments[earlier & (appointments[:, 0] == vaccine_id), 3].sum())
    return Existing(before, appointments[~earlier], pairs[pairs[:, 1] >= start], state)


def _count_from(centre_id: int, start: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM supply_appointment WHERE centre_id = %s AND starts_at >= %s",
            [centre_id, start],
        )
        return cursor.fetchone()[0]


def _rows(cursor) -> np.ndarray:
    return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 4)


def _read(centre_id: int, start: datetime) -> Existing:
    """Aggregate the centre's appointments. A replaceable pair's second dose is unbooked and
    after `start`: saying so lets PostgreSQL read it through the partial index of free second
    doses."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT vaccine_id, count(*) FROM supply_appointment
            WHERE centre_id = %s AND starts_at < %s GROUP BY 1
            """,
            [centre_id, start],
        )
        before = Counter(dict(cursor.fetchall()))
        cursor.execute(
            """
            SELECT vaccine_id, EXTRACT(EPOCH FROM starts_at)::bigint, dose, count(*)
            FROM supply_appointment WHERE centre_id = %s AND starts_at >= %s
            GROUP BY 1, 2, 3
            """,
            [centre_id, start],
        )
        appointments = _rows(cursor)
        cursor.execute(
            f"""
            SELECT f.vaccine_id, EXTRACT(EPOCH FROM f.starts_at)::bigint,
                   COALESCE(EXTRACT(EPOCH FROM s.starts_at)::bigint, {NO_SECOND}), count(*)
            FROM supply_appointment f
            LEFT JOIN supply_appointment s
                   ON s.id = f.second_id AND s.centre_id = f.centre_id AND s.vaccine_id = f.vaccine_id
                  AND s.dose = 2 AND {unreleased("s")} AND s.starts_at >= %s
            WHERE f.centre_id = %s AND f.dose = 1 AND {unreleased("f")} AND f.starts_at >= %s
            GROUP BY 1, 2, 3
            """,
            [start, centre_id, start],
        )
        pairs = _rows(cursor)
    return Existing(before, appointments, pairs, state=None)
