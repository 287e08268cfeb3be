"""The live overview: free appointment pairs of every centre, by vaccine and day, exactly as
booking would honour them (DESIGN invariant 7), shared by everyone who looks.

The numbers come from the one availability selector (`free_pairs`, website channel: released,
not held, not booked, whole pairs, without the hotline's contingent), for the vaccines approved
today. They are counted at most once per OVERVIEW_SECONDS for all web processes together: the
result is stored in one row (OverviewSnapshot), and the process that finds it too old recomputes
it under the row's lock while the others serve the row as it is. Each process keeps its copy for
OVERVIEW_REFRESH_SECONDS, so that requests in between cost no query at all. The numbers are
therefore at most OVERVIEW_SECONDS + OVERVIEW_REFRESH_SECONDS (plus one count) behind booking:
a process that finds the row being recounted waits for the new numbers instead of keeping the
old ones for another OVERVIEW_REFRESH_SECONDS.
"""

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from booking import locking
from booking.models import OverviewSnapshot
from booking.selectors import free_pairs, open_groups, vaccine_age_ranges
from centres.models import Centre


@dataclass(frozen=True)
class Overview:
    """One computation: `centres` are dicts with code, name, town, latitude, longitude and
    `free` ({vaccine code: {ISO day: pairs}}); `vaccines` dicts with code, name, min_age,
    max_age (None: no upper limit)."""

    computed_at: datetime
    days: list[date]
    vaccines: list[dict]
    centres: list[dict]
    version: str
    # The youngest age an open priority group admits by age alone (None: none does); younger
    # people book only by declaring a group's occupation or condition.
    open_by_age_from: int | None = None

    def by_age_only_from(self, age: int | None) -> bool:
        """Whether someone of `age` may book by age alone (everyone may look)."""
        return age is None or (self.open_by_age_from is not None and age >= self.open_by_age_from)

    def vaccines_for(self, age: int | None) -> list[dict]:
        if age is None:
            return self.vaccines
        return [
            v for v in self.vaccines if v["min_age"] <= age and (v["max_age"] is None or age <= v["max_age"])
        ]

    def for_age(self, age: int | None) -> dict:
        """The numbers someone of `age` could book (everyone's with None): per centre its total,
        per vaccine and per day, and the totals per day and overall."""
        codes = [v["code"] for v in self.vaccines_for(age)]
        days = [day.isoformat() for day in self.days]
        centres, per_day = [], dict.fromkeys(days, 0)
        for centre in self.centres:
            by_vaccine = {code: centre["free"].get(code, {}) for code in codes}
            by_day = {day: sum(counts.get(day, 0) for counts in by_vaccine.values()) for day in days}
            for day, count in by_day.items():
                per_day[day] += count
            centres.append(
                {
                    **{k: centre[k] for k in ("code", "name", "town", "latitude", "longitude")},
                    "total": sum(by_day.values()),
                    "by_vaccine": {code: sum(counts.values()) for code, counts in by_vaccine.items()},
                    # The same, in the order of "vaccines" (for tables).
                    "counts": [sum(counts.values()) for counts in by_vaccine.values()],
                    "by_day": by_day,
                }
            )
        return {
            "vaccines": self.vaccines_for(age),
            "centres": centres,
            "by_day": per_day,
            "total": sum(per_day.values()),
        }


LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
_copy: dict = {"overview": None, "fetched": 0.0}
_copy_lock = threading.Lock()


def overview_current() -> Overview:
    """The current overview: this process's copy if it is younger than
    OVERVIEW_REFRESH_SECONDS, else the stored row, recomputed first if it is older than
    OVERVIEW_SECONDS and nobody else is recomputing it."""
    with _copy_lock:  # one refresh per process at a time; the others wait for its result
        if (
            _copy["overview"] is not None
            and time.monotonic() - _copy["fetched"] < settings.OVERVIEW_REFRESH_SECONDS
        ):
            return _copy["overview"]
        overview = _load_or_refresh()
        _copy["overview"], _copy["fetched"] = overview, time.monotonic()
        return overview


def clear_copy() -> None:
    """Forget this process's copy (tests)."""
    with _copy_lock:
        _copy["overview"], _copy["fetched"] = None, 0.0


def _load_or_refresh() -> Overview:
    if settings.OVERVIEW_SECONDS == 0:  # count on every request (the tests)
        return _overview(_compute())
    data, stale = _stored(settings.OVERVIEW_SECONDS)
    if stale:
        with transaction.atomic():
            if locking.claim_overview_refresh(settings.OVERVIEW_SECONDS):
                with connection.cursor() as cursor:
                    # A count every few seconds should not take two more cores from the web
                    # processes (PostgreSQL would run it in parallel on a season's rows).
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                data = _compute()
                OverviewSnapshot.objects.filter(pk=1).update(computed_at=data["computed_at"], data=data)
            else:
                # Another process is counting: wait for its numbers (one count at most) rather
                # than serve the stale row, which after a quiet spell may be any age.
                data = locking.overview_after_count()
    if not data:  # never computed: count now
        data = _compute()
    return _overview(data)


def _stored(older_than_seconds: float) -> tuple[dict, bool]:
    """The stored numbers and whether they are older than `older_than_seconds`: one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data, computed_at < now() - make_interval(secs => %s) FROM booking_overviewsnapshot"
            " WHERE id = 1",
            [older_than_seconds],
        )
        row = cursor.fetchone()
    if row is None:  # the table was emptied: the row again, as if counted long ago
        OverviewSnapshot.objects.get_or_create(pk=1, defaults={"computed_at": LONG_AGO, "data": {}})
        return {}, True
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return data, row[1]


def overview_refresh() -> Overview:
    """Recompute and store the overview now, whatever its age (tests; staff in a shell after
    changing appointments by hand)."""
    data = _compute()
    OverviewSnapshot.objects.update_or_create(
        pk=1, defaults={"computed_at": data["computed_at"], "data": data}
    )
    clear_copy()
    return _overview(data)


def _compute() -> dict:
    today = timezone.localdate()
    days = [today + timedelta(days=n) for n in range(settings.OVERVIEW_DAYS)]
    approved = vaccine_age_ranges(today)
    centres = list(Centre.objects.filter(active=True).order_by("name"))
    free = free_pairs(
        by="day",
        centre_ids=[c.id for c in centres],
        vaccine_ids=[v.id for v, _low, _high in approved],
        start=today,
        end=today + timedelta(days=settings.OVERVIEW_DAYS),
    )
    codes = {v.id: v.code for v, _low, _high in approved}
    counts: dict[int, dict] = {c.id: {} for c in centres}
    for (centre_id, vaccine_id, day), count in free.counts.items():
        counts[centre_id].setdefault(codes[vaccine_id], {})[day.isoformat()] = count
    by_age = [g.min_age for g in open_groups(today) if g.min_age is not None]
    return {
        "computed_at": free.computed_at.isoformat(),
        "open_by_age_from": min(by_age) if by_age else None,
        "days": [day.isoformat() for day in days],
        "vaccines": [
            # short: "Comirnaty" for "Comirnaty (BioNTech/Pfizer)", for table heads
            {"code": v.code, "name": v.name, "short": v.name.split(" (")[0], "min_age": low, "max_age": high}
            for v, low, high in approved
        ],
        "centres": [
            {
                "code": c.code,
                "name": c.name,
                "town": c.town,
                "latitude": float(c.latitude),
                "longitude": float(c.longitude),
                "free": counts[c.id],
            }
            for c in centres
        ],
    }


def _overview(data: dict) -> Overview:
    numbers = json.dumps([data["vaccines"], data["centres"]], sort_keys=True).encode()
    return Overview(
        computed_at=parse_datetime(data["computed_at"]),
        days=[date.fromisoformat(day) for day in data["days"]],
        vaccines=data["vaccines"],
        centres=data["centres"],
        version=hashlib.sha256(data["computed_at"].encode() + numbers).hexdigest()[:20],
        open_by_age_from=data.get("open_by_age_from"),
    )
