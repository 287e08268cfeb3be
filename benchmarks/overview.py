#!/usr/bin/env python
"""The live overview under load: /freie-termine/ and GET /api/v1/public/availability. Keys with
--json: json_per_s, page_per_s, db_queries_per_cached_request, staleness_s (and more for context).

Over HTTP: gunicorn serves the project (DEBUG off, as in production; 2 sync workers) against the
embedded PostgreSQL, with OVERVIEW_SECONDS and OVERVIEW_REFRESH_SECONDS as configured (default 3
and 1). The data, the worst case for the count: every centre's appointments of every day the
overview shows from tomorrow (OVERVIEW_DAYS - 1 days: about half a million appointments), with
Comirnaty for each day's full capacity everywhere and AstraZeneca at every other centre (so that
`age=45` hides some), planned and released a minute ago with 10 % of the pairs kept for the
hotline (which the overview must not count); `--days 7` releases one week only. A load
generator on the same machine (it shares the two cores with gunicorn and PostgreSQL: processes of
threads, each with a raw HTTP/1.1 socket; gunicorn's sync workers close the connection after
each response, so every request is a fresh connection) runs these phases:

- json (10 s): GET /api/v1/public/availability back to back, one in four with `?age=45`;
- page (10 s): GET /freie-termine/, one in four in English (/en/freie-termine/), one in four with
  `?alter=45`;
- database cost, over both phases: PostgreSQL's own count of transactions of the benchmark's
  database (pg_stat_database: commits + rollbacks; every query in Django's autocommit is one, a
  transaction is at least one query) and of updates of the overview's row (pg_stat_user_tables:
  one per count), read before, between and after the phases, each read after 11 s of quiet so
  that every backend has published its counters, minus the reads themselves. A request served
  from a process's copy runs no query; what the phases do run is each web process's refresh of its
  copy (OVERVIEW_REFRESH_SECONDS: the connection's health check and the read of the row) and,
  every OVERVIEW_SECONDS, one count for all (the claim, the count and the update, one
  transaction; on this data PostgreSQL runs the count with two parallel workers, and counts two
  transactions of each too);
- staleness, under the same load in the background (JSON and page; `--no-staleness-load`: the
  polls alone, so that the web processes refresh at unrelated moments): the benchmark itself changes
  the booking state through the services, alternately holding one pair (a random centre, vaccine
  and day of the release; website channel) and releasing that hold, 10 changes, and polls the
  JSON every 50 ms. A change counts as visible from the first response after which every
  response shows it (two web processes with a copy each: one may show it earlier than the
  other) for at least OVERVIEW_REFRESH_SECONDS + 0.5 s, plus a random 0 to OVERVIEW_SECONDS
  (so that the next change falls anywhere in the count's cycle). staleness_s is the longest time
  from a change's commit (the service returned) to that moment; the median and the first sight
  are reported too, and the oldest numbers any poll was served (the response's time minus its
  `computed_at`, the database clock of the count on the same machine). The distinct
  `computed_at` values the polls saw give the counts that ran and the shortest interval between
  two of them (at least OVERVIEW_SECONDS: counted at most once per interval). After each change
  has settled, the JSON (all ages, and age 45) is compared with booking.selectors.free_pairs for
  the same scope (active centres, vaccines approved today for that age, today to OVERVIEW_DAYS):
  each centre's numbers per vaccine and per day, and the totals. Last, after 10 s without any
  request (the row is then 10 s old), 16 clients ask the JSON at once for 1.5 s: the oldest
  numbers any of them was served (after_idle_max_age_s; the web processes all find the row
  stale at the same moment, and only one of them counts).
"""

import contextlib
import itertools
import json
import multiprocessing
import random
import statistics
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from _setup import arguments, gunicorn, report, setup_django
from waiting_room import Connection

PHASE_SECONDS = 10.0
# PostgreSQL publishes a backend's counters at most once a second while it is busy and within
# 10 s once it is idle (PGSTAT_IDLE_INTERVAL): wait that long before each read of the counters.
STATS_SETTLE_SECONDS = 11.0
HOTLINE_PERCENT = 10
AGE = 45
POLL_SECONDS = 0.05
CHANGES = 10
VISIBLE_WITHIN_SECONDS = 30.0  # give up on a change after this long (reported as that long)
IDLE_SECONDS = 10.0  # then a burst of requests: how old are the numbers its first second sees?
BURST_CLIENTS = 16
BURST_SECONDS = 1.5

JSON_PATH = "/api/v1/public/availability"
JSON_OK = b'"centres"'
PAGE_OK = b'class="overview-stand"'
JSON_LOAD = [(JSON_PATH, JSON_OK)] * 3 + [(f"{JSON_PATH}?age={AGE}", JSON_OK)]
PAGE_LOAD = [
    ("/freie-termine/", PAGE_OK),
    ("/freie-termine/", PAGE_OK),
    ("/en/freie-termine/", PAGE_OK),
    (f"/freie-termine/?alter={AGE}", PAGE_OK),
]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], extra=_extra_arguments)
    setup_django()
    from django.conf import settings

    released = _release_window(args.days)
    _vacuum()  # now, rather than autovacuum after the planner's writes while queries are counted
    free, count_ms = _count()
    server_env = {
        "OVERVIEW_SECONDS": str(settings.OVERVIEW_SECONDS),
        "OVERVIEW_REFRESH_SECONDS": str(settings.OVERVIEW_REFRESH_SECONDS),
    }
    with gunicorn(workers=args.workers, threads=args.threads, env=server_env) as port:
        load = LoadGenerator(port, processes=args.load_processes, connections=args.connections)
        load.run(JSON_LOAD + PAGE_LOAD, seconds=1.0)  # warm-up: imports, templates, connections
        counter = StatsCounter(settings.DATABASES["default"])
        before = counter.settled_read()
        json_phase = load.run(JSON_LOAD, seconds=PHASE_SECONDS)
        between = counter.settled_read()
        page_phase = load.run(PAGE_LOAD, seconds=PHASE_SECONDS)
        after = counter.settled_read()
        counter.close()
        background = load if args.staleness_load else None
        staleness = Staleness(port, released, seed=args.seed).run(args.changes, background=background)
        load.close()

    # Each read of the counters is a transaction of its own, counted by the next read.
    json_tx = between["transactions"] - before["transactions"] - 1
    page_tx = after["transactions"] - between["transactions"] - 1
    json_counts = between["counts"] - before["counts"]
    page_counts = after["counts"] - between["counts"]
    requests = json_phase["ok"] + page_phase["ok"]
    refreshes = round(args.workers * 2 * PHASE_SECONDS / max(settings.OVERVIEW_REFRESH_SECONDS, 0.001))
    stale = staleness["staleness"]
    rows: list[tuple[str, object, str]] = [
        (
            "json_per_s",
            round(json_phase["ok"] / json_phase["seconds"]),
            f"GET {JSON_PATH} per second, 1 in 4 with ?age={AGE} (target >= 2,500)",
        ),
        (
            "page_per_s",
            round(page_phase["ok"] / page_phase["seconds"]),
            f"GET /freie-termine/ per second (1 in 4 English, 1 in 4 ?alter={AGE}) (target >= 2,500)",
        ),
        (
            "db_queries_per_cached_request",
            round((json_tx + page_tx) / max(1, requests), 5),
            f"= {(json_tx + page_tx) / max(1, requests):.5f}: {json_tx + page_tx} PostgreSQL transactions "
            f"for {requests:,} requests, the refreshes and counts included (target 0 on a cache hit)",
        ),
        (
            "staleness_s",
            round(max(stale), 2) if stale else None,
            f"longest time from a booking change's commit until every poll shows it, of {len(stale)} "
            "changes (target <= 5)",
        ),
        (
            "staleness_median_s",
            round(statistics.median(stale), 2) if stale else None,
            f"median of the same; each: {', '.join(f'{value:.1f}' for value in stale)}",
        ),
        (
            "first_seen_median_s",
            round(statistics.median(staleness["first_seen"]), 2) if stale else None,
            f"commit -> first poll that shows it (max {max(staleness['first_seen'], default=0):.2f})",
        ),
        (
            "max_data_age_s",
            staleness["max_age"],
            f"oldest numbers served to a poll (response time - computed_at), of {staleness['polls']:,} polls",
        ),
        (
            "after_idle_max_age_s",
            staleness["after_idle"]["max_age"],
            f"oldest numbers served in {BURST_SECONDS} s to {BURST_CLIENTS} clients at once after "
            f"{IDLE_SECONDS:.0f} s without a request: {staleness['after_idle']['over_5']} of "
            f"{staleness['after_idle']['responses']:,} responses older than 5 s",
        ),
        (
            "numbers_match",
            "yes" if staleness["matches"] == staleness["checks"] else "NO",
            f"JSON = free_pairs after settling (all ages and {AGE}): {staleness['matches']} of "
            f"{staleness['checks']} checks{staleness['mismatch']}",
        ),
        (
            "json_tx",
            json_tx,
            f"transactions during the JSON phase (raw), {json_counts} counts, "
            f"{between['sessions'] - before['sessions']} connections opened",
        ),
        (
            "page_tx",
            page_tx,
            f"transactions during the page phase (raw), {page_counts} counts, "
            f"{after['sessions'] - between['sessions']} connections opened",
        ),
        (
            "tx_expected",
            f"{refreshes * 2 + json_counts + page_counts}-{refreshes * 2 + (json_counts + page_counts) * 5}",
            f"both phases: {refreshes} refreshes x 2 (health check, read of the row) + 1 per count (claim, "
            "count, update; 5 if it ran with 2 parallel workers) + 1 per claim that found a count running",
        ),
        (
            "counts_per_phase",
            f"{json_counts} / {page_counts}",
            f"counts (updates of the row) in the JSON / page phase: at most "
            f"{PHASE_SECONDS / max(settings.OVERVIEW_SECONDS, 0.001) + 1:.1f} each",
        ),
        (
            "counts_seen",
            staleness["counts"],
            f"distinct computed_at the polls saw in {staleness['seconds']:.0f} s of the staleness phase",
        ),
        (
            "count_interval_min_s",
            staleness["min_interval"],
            f"shortest time between two counts (OVERVIEW_SECONDS = {settings.OVERVIEW_SECONDS}: at most "
            "one count per interval)",
        ),
        (
            "json_p99_ms",
            json_phase["p99_ms"],
            f"99th percentile of a JSON request ({json_phase['bytes']:,} B)",
        ),
        (
            "page_p99_ms",
            page_phase["p99_ms"],
            f"99th percentile of a page request ({page_phase['bytes']:,} B)",
        ),
        (
            "background_per_s",
            staleness["background_per_s"],
            "JSON and page requests per second beside the staleness polls",
        ),
        (
            "http_errors",
            json_phase["errors"] + page_phase["errors"] + staleness["errors"],
            "unexpected responses, all phases",
        ),
        (
            "free_pairs",
            free,
            f"free pairs online (the JSON's total), {len({day for _c, _v, day in released})} days released, "
            f"{len(released):,} centre-vaccine-days",
        ),
        (
            "count_ms",
            count_ms,
            "one count in this process, machine idle (median of 3; free_pairs as the overview)",
        ),
        (
            "settings",
            f"{settings.OVERVIEW_SECONDS} / {settings.OVERVIEW_REFRESH_SECONDS}",
            "OVERVIEW_SECONDS / OVERVIEW_REFRESH_SECONDS",
        ),
        ("workers", f"{args.workers}x{args.threads}", "gunicorn workers x threads"),
        ("load", f"{args.load_processes}x{args.connections}", "load-generator processes x connections each"),
        ("load_cores", json_phase["load_cores"], "cores the load generator used in the JSON phase (of 2)"),
    ]
    report(
        "Live overview: JSON and page under load, queries, staleness (gunicorn, embedded PostgreSQL)",
        rows,
        as_json=args.json,
    )


def _extra_arguments(parser) -> None:
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)")
    parser.add_argument("--load-processes", type=int, default=1, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections per load process")
    parser.add_argument("--changes", type=int, default=CHANGES, help="booking changes in the staleness phase")
    parser.add_argument("--seed", type=int, default=5, help="random seed of the changes and their timing")
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="days released from tomorrow (default: all the overview shows, OVERVIEW_DAYS - 1)",
    )
    parser.add_argument(
        "--no-staleness-load",
        dest="staleness_load",
        action="store_false",
        help="measure staleness with the polls alone (no load in the background)",
    )


# --- Set-up ------------------------------------------------------------------------------------


def _release_window(count: int | None) -> list[tuple[int, int, object]]:
    """Every active centre's days from tomorrow to the overview's last (or `count` days),
    planned (Comirnaty for the full capacity, AstraZeneca at every other centre) and released a
    minute ago with HOTLINE_PERCENT kept for the hotline; returns the (centre id, vaccine id,
    day) with free pairs online."""
    from django.conf import settings
    from django.utils import timezone

    from booking.selectors import free_pairs
    from centres.models import Centre
    from centres.services import centres_load
    from supply.models import Delivery, PlanRun, Vaccine
    from supply.services.planning import plan_run_execute
    from waitingroom.models import Release
    from waitingroom.services import release_schedule

    centres_load()
    today = timezone.localdate()
    days = [today + timedelta(days=n) for n in range(1, 1 + (count or settings.OVERVIEW_DAYS - 1))]
    vaccines = {v.code: v for v in Vaccine.objects.all()}
    centres = list(Centre.objects.filter(active=True).order_by("code"))
    Delivery.objects.bulk_create(
        Delivery(centre=centre, vaccine=vaccines[code], date=day, doses=doses, status="delivered")
        for index, centre in enumerate(centres)
        for day in days
        for code, doses in (("comirnaty", 12_000), ("astra", 3_000 if index % 2 == 0 else 0))
        if doses
    )
    run = PlanRun.objects.create(reason="benchmark: overview")
    plan_run_execute(run_id=run.pk, plan_from=days[0], plan_to=days[-1])
    release = Release.objects.create(
        name="benchmark: overview",
        first_day=days[0],
        last_day=days[-1],
        opens_at=timezone.now() - timedelta(minutes=1),
        hotline_percent=HOTLINE_PERCENT,
    )
    release.centres.set(centres)
    release_schedule(release=release)
    counts = free_pairs(by="day", centre_ids=[c.id for c in centres]).counts
    return sorted(scope for scope, count in counts.items() if count > 0)


def _count() -> tuple[int, float]:
    """The overview's free pairs (all ages) and the median time of three counts in this process."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        expected = _expected(None)
        times.append((time.perf_counter() - started) * 1000)
    return expected["total"], round(statistics.median(times), 1)


def _vacuum() -> None:
    """VACUUM ANALYZE, then a checkpoint (where allowed), so that no leftover of the set-up's
    half a million writes (autovacuum, the checkpointer's writes) falls into a measured phase."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        with contextlib.suppress(DatabaseError):  # superuser or pg_checkpoint (embedded server: yes)
            cursor.execute("CHECKPOINT")


def _expected(age: int | None) -> dict:
    """What the overview must show for `age`, from booking.selectors.free_pairs directly: per
    centre code its numbers per vaccine code and per ISO day, and the total."""
    from django.conf import settings
    from django.utils import timezone

    from booking.selectors import free_pairs, vaccine_age_ranges
    from centres.models import Centre

    today = timezone.localdate()
    days = [(today + timedelta(days=n)).isoformat() for n in range(settings.OVERVIEW_DAYS)]
    vaccines = [
        v
        for v, low, high in vaccine_age_ranges(today)
        if age is None or (low <= age and (high is None or age <= high))
    ]
    centres = list(Centre.objects.filter(active=True))
    free = free_pairs(
        by="day",
        centre_ids=[c.id for c in centres],
        vaccine_ids=[v.id for v in vaccines],
        start=today,
        end=today + timedelta(days=settings.OVERVIEW_DAYS),
    )
    code_of = {v.id: v.code for v in vaccines}
    numbers = {
        c.id: {"by_vaccine": dict.fromkeys(code_of.values(), 0), "by_day": dict.fromkeys(days, 0)}
        for c in centres
    }
    for (centre_id, vaccine_id, day), count in free.counts.items():
        numbers[centre_id]["by_vaccine"][code_of[vaccine_id]] += count
        numbers[centre_id]["by_day"][day.isoformat()] += count
    per_centre = {
        c.code: numbers[c.id] | {"total": sum(numbers[c.id]["by_vaccine"].values())} for c in centres
    }
    return {"centres": per_centre, "total": sum(n["total"] for n in per_centre.values())}


def _differences(body: dict, expected: dict) -> list[str]:
    """Where the JSON differs from what free_pairs counts (empty: equal)."""
    shown = {c["code"]: {k: c[k] for k in ("by_vaccine", "by_day", "total")} for c in body["centres"]}
    wrong = [
        code
        for code in shown.keys() | expected["centres"].keys()
        if shown.get(code) != expected["centres"].get(code)
    ]
    if body["total"] != expected["total"]:
        wrong.append(f"total {body['total']} != {expected['total']}")
    return sorted(wrong)


# --- Database counters ---------------------------------------------------------------------------


class StatsCounter:
    """Transactions of the benchmark's database as PostgreSQL counts them (pg_stat_database:
    commits + rollbacks) and updates of the overview's row (pg_stat_user_tables: one per count).
    There is no pg_stat_statements in the embedded server."""

    def __init__(self, database: dict):
        import psycopg

        self.connection = psycopg.connect(
            host=database["HOST"], user=database["USER"], dbname=database["NAME"], autocommit=True
        )

    def settled_read(self) -> dict:
        """The counters once every backend has published its own (one transaction of its own)."""
        time.sleep(STATS_SETTLE_SECONDS)
        transactions, sessions, counts = self.connection.execute(
            "SELECT d.xact_commit + d.xact_rollback, d.sessions, t.n_tup_upd"
            " FROM pg_stat_database d, pg_stat_user_tables t"
            " WHERE d.datname = current_database() AND t.relname = 'booking_overviewsnapshot'"
        ).fetchone()
        return {"transactions": transactions, "sessions": sessions, "counts": counts}

    def close(self) -> None:
        self.connection.close()


# --- Staleness ---------------------------------------------------------------------------------


class Staleness:
    """Booking changes made here, and the JSON polled until every response shows them (see the
    module's docstring)."""

    def __init__(self, port: int, released: list, *, seed: int):
        from django.conf import settings

        self.connection = Connection(port)
        self.released = released
        self.random = random.Random(seed)
        self.settle = settings.OVERVIEW_REFRESH_SECONDS + 0.5
        self.spread = float(settings.OVERVIEW_SECONDS)
        self.polls = self.errors = 0
        self.max_age = 0.0
        self.computed: set[str] = set()

    def run(self, changes: int, *, background: "LoadGenerator | None") -> dict:
        from booking.services.holds import hold_create_next, hold_release

        pending = background.start(JSON_LOAD + PAGE_LOAD) if background is not None else None
        started = time.time()
        try:
            # Settled before the first change: what the JSON shows now is the baseline.
            shown, _seen, _visible = self._until_settled(lambda total: True, since=time.time())
            checks = [self._check()]
            staleness, first_seen, hold = [], [], None
            for number in range(changes):
                if hold is None:
                    centre_id, vaccine_id, day = self.random.choice(self.released)
                    hold = hold_create_next(
                        centre_id=centre_id,
                        vaccine_id=vaccine_id,
                        day=day,
                        owner=f"benchmark-overview-{number}",
                    )
                    target = shown - 1
                else:
                    hold_release(token=hold.token)
                    hold, target = None, shown + 1
                committed = time.time()
                shown, seen, visible = self._until_settled(
                    lambda total, t=target: total == t, since=committed
                )
                first_seen.append(seen - committed)
                staleness.append(visible - committed)
                checks.append(self._check())
            if hold is not None:
                hold_release(token=hold.token)
        finally:
            seconds = time.time() - started
            load = {"ok": 0, "errors": 0}
            if background is not None:
                background.stop()
                load = background.collect(pending.get(), seconds)
            self.connection.close()
        burst = self._after_idle()
        mismatch = [problem for problem in checks if problem]
        times = sorted(datetime.fromisoformat(value).timestamp() for value in self.computed)
        intervals = [b - a for a, b in itertools.pairwise(times)]
        return {
            "staleness": staleness,
            "first_seen": first_seen,
            "max_age": round(self.max_age, 2),
            "polls": self.polls,
            "checks": len(checks),
            "matches": len(checks) - len(mismatch),
            "mismatch": f" ({'; '.join(mismatch[:2])})" if mismatch else "",
            "counts": len(times),
            "min_interval": round(min(intervals), 2) if intervals else None,
            "seconds": seconds,
            "errors": self.errors + load["errors"],
            "background_per_s": round(load["ok"] / seconds),
            "after_idle": burst,
        }

    def _after_idle(self) -> dict:
        """IDLE_SECONDS without a request, then BURST_CLIENTS clients at once, each asking the JSON
        again and again for BURST_SECONDS: the age of the numbers each response carries (the
        web processes all find the row stale at the same moment; one counts)."""
        time.sleep(IDLE_SECONDS)
        ages: list[float] = []
        lock = threading.Lock()
        start_at = time.time() + 0.2

        def client() -> None:
            connection, mine = Connection(self.connection.port), []
            time.sleep(max(0.0, start_at - time.time()))
            while time.time() < start_at + BURST_SECONDS:
                try:
                    _status, _headers, body = connection.exchange(_request(JSON_PATH))
                    computed_at = json.loads(body)["computed_at"]
                except (OSError, ValueError, KeyError):
                    continue
                mine.append(time.time() - datetime.fromisoformat(computed_at).timestamp())
            connection.close()
            with lock:
                ages.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(BURST_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "max_age": round(max(ages), 2) if ages else None,
            "over_5": sum(age > 5 for age in ages),
            "responses": len(ages),
        }

    def _until_settled(self, shows, *, since: float) -> tuple[int, float, float]:
        """Poll the JSON until every response has shown what `shows(total)` accepts for the settle
        time (and a random spread); returns (the total, first response showing it, first response
        from which on all did)."""
        seen = visible = None
        hold_for = self.settle + self.random.uniform(0, self.spread)
        total = None
        while True:
            polled = time.time()
            total, received = self._poll()
            if total is not None and shows(total):
                seen = seen or received
                visible = visible or received
                if received - visible >= hold_for:
                    return total, seen, visible
            else:
                visible = None
            if received - since > VISIBLE_WITHIN_SECONDS:
                return total, seen or received, received
            time.sleep(max(0.0, POLL_SECONDS - (time.time() - polled)))

    def _poll(self, path: str = JSON_PATH) -> tuple[int | None, float]:
        body = self._get(path)
        received = time.time()
        if body is None:
            return None, received
        self.computed.add(body["computed_at"])
        self.max_age = max(self.max_age, received - datetime.fromisoformat(body["computed_at"]).timestamp())
        return body["total"], received

    def _get(self, path: str) -> dict | None:
        self.polls += 1
        try:
            status, _headers, body = self.connection.exchange(_request(path))
        except OSError:
            self.connection.close()
            self.errors += 1
            return None
        if status != 200:
            self.errors += 1
            return None
        return json.loads(body)

    def _check(self) -> str:
        """'' if the JSON for all ages and for AGE equals free_pairs now, else what differs."""
        problems = []
        for age in (None, AGE):
            body = self._get(JSON_PATH if age is None else f"{JSON_PATH}?age={age}")
            wrong = ["no answer"] if body is None else _differences(body, _expected(age))
            if wrong:
                problems.append(f"age {age}: {', '.join(wrong[:4])}")
        return "; ".join(problems)


# --- The load generator --------------------------------------------------------------------------


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


class LoadGenerator:
    """Processes (spawned, so that they share no interpreter lock) of threads that each keep one
    HTTP/1.1 connection (a new one per request when the server closes it, as gunicorn's sync
    workers do) and send GET requests back to back, until a deadline they share."""

    def __init__(self, port: int, *, processes: int, connections: int):
        context = multiprocessing.get_context("spawn")
        self.port, self.processes, self.connections = port, processes, connections
        self.deadline = context.RawValue("d", 0.0)
        self.pool = context.Pool(processes, initializer=_share_deadline, initargs=(self.deadline,))

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()

    def start(self, targets: list[tuple[str, bytes]], *, seconds: float | None = None):
        """Start load on `targets` ((path, bytes a good answer contains), taken in turn) for
        `seconds`, or until stop(); returns the pending result for collect()."""
        start_at = time.time() + 0.5  # every process starts at the same moment
        self.deadline.value = start_at + seconds if seconds is not None else float("inf")
        jobs = [(self.port, targets, index, self.connections, start_at) for index in range(self.processes)]
        return self.pool.starmap_async(_drive, jobs)

    def stop(self) -> None:
        self.deadline.value = time.time()

    def run(self, targets: list[tuple[str, bytes]], *, seconds: float) -> dict:
        return self.collect(self.start(targets, seconds=seconds).get(), seconds)

    @staticmethod
    def collect(parts: list[dict], seconds: float) -> dict:
        latencies = sorted(latency for part in parts for latency in part["latencies"])
        ok = sum(part["ok"] for part in parts)
        return {
            "ok": ok,
            "errors": sum(part["errors"] for part in parts),
            "statuses": sum((Counter(part["statuses"]) for part in parts), Counter()),
            "seconds": seconds,
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
            "bytes": round(sum(part["bytes"] for part in parts) / max(1, ok)),
            "load_cores": round(sum(part["cpu_seconds"] for part in parts) / seconds, 2),
        }


_deadline = None


def _share_deadline(deadline) -> None:
    global _deadline
    _deadline = deadline


def _drive(port, targets, process, connections, start_at) -> dict:
    tally = {"ok": 0, "errors": 0, "bytes": 0, "statuses": Counter(), "latencies": []}
    cpu = time.process_time()
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_client, args=(port, targets, process * connections + n, start_at, tally, lock)
        )
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally["cpu_seconds"] = time.process_time() - cpu
    return tally


def _client(port, targets, number, start_at, tally, lock) -> None:
    connection = Connection(port)
    requests = [(_request(path), good) for path, good in targets]
    ok = errors = size = 0
    statuses: Counter = Counter()
    latencies: list[float] = []
    time.sleep(max(0.0, start_at - time.time()))
    turn = number
    while time.time() < _deadline.value:
        request, good = requests[turn % len(requests)]
        turn += 1
        started = time.perf_counter()
        try:
            status, _headers, body = connection.exchange(request)
        except OSError:
            errors += 1
            connection.close()
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        if status == 200 and good in body:
            ok += 1
            size += len(body)
        else:
            errors += 1
    connection.close()
    with lock:
        tally["ok"] += ok
        tally["errors"] += errors
        tally["bytes"] += size
        tally["statuses"].update(statuses)
        tally["latencies"] += latencies


if __name__ == "__main__":
    main()
