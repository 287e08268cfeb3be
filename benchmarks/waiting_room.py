#!/usr/bin/env python
"""The waiting room under load (issue 5). Keys with --json: polls_per_s, db_queries_per_poll,
joins_per_s, origin_requests_per_client_minute, sold_out_notice_s (and a few more for context).

Over HTTP: gunicorn serves the project (DEBUG off, as in production) against the embedded
PostgreSQL, with one open release (a day of Chemnitz, the largest centre) in front of the
booking pages. Load-generator processes on the same machine (it shares the cores with gunicorn
and PostgreSQL) run three phases of about ten seconds each:

- joins: clients POST /warteraum/anstellen/ as a browser does (CSRF cookie from one GET of
  /warteraum/, then the X-CSRFToken header and a Referer), each join from an address of its
  own (X-Forwarded-For behind one trusted proxy, so the per-address limit applies per person);
  afterwards the tickets are checked: one row per successful join, numbers 1..n without a gap;
- polls: the shared queue state /warteraum/<release>/stand.json, the request every waiting
  browser repeats; the database's own count of transactions (pg_stat_database of the
  benchmark's database, read before and after with the server idle long enough for PostgreSQL
  to have published its counters, minus the benchmark's own read) gives the queries per poll,
  including each web process's refresh of its copy of the queue states every few seconds;
- page polls: the waiting page /warteraum/ with the signed ticket cookies of the joins.

Then a simulation without HTTP, on a simulated clock: 100,000 people wait for a release of
15,600 pairs with an admission limit of 4,000 and 20 minutes per admission. It uses the
project's own pure functions where they decide (selectors.place_of for the drawn places,
selectors.effective_status for the status by the clock) and re-implements the rules of
services._advance and services._call that need the database, faithfully: capacity =
min(limit - busy, free - (busy - holding), waiting); sold out when nothing is free or held.
The model: the tick runs every WAITINGROOM_TICK_SECONDS; each web process refreshes its copy of
the queue state on a request when it is WAITINGROOM_STATE_SECONDS old; one shared cache (CDN)
in front keeps the JSON for its max-age and then asks the origin (a random web process) again;
browsers poll the JSON every WAITINGROOM_POLL_SECONDS with +-20 % jitter and do what
static/js/waitingroom.js does: reload at once when called or when the waiting room ends, reload
at a random moment within three poll intervals after the opening's draw, and show "sold out"
in place (no page load); the page is rendered by a random web process from its own copy.
Everyone joins in the half hour before the opening; called people take 2 to 6 minutes to book
(holding their pair from about halfway); one in ten never comes in, and their call lapses
WAITINGROOM_ENTER_MINUTES after it was made (selectors.in_process). Origin requests are the
JSON requests the cache passes on plus the page loads.
"""

import heapq
import multiprocessing
import random
import socket
import threading
import time
from collections import Counter
from datetime import timedelta

from _setup import arguments, gunicorn, one_day_released, report, setup_django

CENTRE = "CN01"
PHASE_SECONDS = 10.0
# PostgreSQL publishes a backend's counters at most once a second while it is busy and within
# 10 s once it is idle (PGSTAT_IDLE_INTERVAL): wait that long before each read of the counters.
STATS_SETTLE_SECONDS = 11.0
TICKET_COOKIES = 512  # distinct waiting people whose pages the page phase polls


def main() -> None:
    args = arguments(__doc__.splitlines()[0], extra=_extra_arguments)
    setup_django()
    from django.conf import settings

    release_id = _open_release()
    rows: list[tuple[str, object, str]] = []
    server_env = {
        "WAITINGROOM_JOINS_PER_MINUTE": "1000000000",
        "WAITINGROOM_TRUSTED_PROXIES": "1",
    }
    with gunicorn(workers=args.workers, threads=args.threads, env=server_env) as port:
        load = LoadGenerator(port, processes=args.load_processes, connections=args.connections)
        load.run("warmup", {"path": f"/warteraum/{release_id}/stand.json"}, seconds=1.0)

        joins = load.run("join", {}, seconds=PHASE_SECONDS)
        tickets = _check_tickets(release_id)
        cookies = joins["cookies"][:TICKET_COOKIES]
        _vacuum()  # now, rather than autovacuum after the writes during a phase that counts queries

        counter = TransactionCounter(settings.DATABASES["default"])
        polls, poll_queries, poll_connections = counter.around(
            lambda: load.run("json", {"path": f"/warteraum/{release_id}/stand.json"}, seconds=PHASE_SECONDS)
        )
        pages, page_queries, page_connections = counter.around(
            lambda: load.run("page", {"cookies": cookies}, seconds=PHASE_SECONDS)
        )
        counter.close()
        load.close()

    simulation = Simulation(seed=args.seed, web_processes=args.workers).run()
    ok_joins = joins["ok"]
    # each worker's copy of the states, every few seconds: the query and the health check before it
    refreshes = round(args.workers * PHASE_SECONDS / settings.WAITINGROOM_STATE_SECONDS) * 2
    rows += [
        (
            "polls_per_s",
            round(polls["ok"] / polls["seconds"]),
            "shared JSON polls served per second (target >= 2,500)",
        ),
        (
            "db_queries_per_poll",
            round(poll_queries / max(1, polls["ok"]), 5),
            "PostgreSQL transactions per poll, refreshes included (target 0; the table rounds)",
        ),
        ("joins_per_s", round(ok_joins / joins["seconds"]), "tickets drawn per second (target >= 1,000)"),
        (
            "origin_requests_per_client_minute",
            simulation["origin_requests_per_client_minute"],
            "simulated: JSON cache misses + page loads per waiting person and minute",
        ),
        (
            "sold_out_notice_s",
            simulation["sold_out_notice_s"],
            "simulated: last pair booked -> last waiting person sees 'sold out'",
        ),
        ("polls_p99_ms", polls["p99_ms"], "99th percentile of a JSON poll"),
        (
            "poll_queries",
            poll_queries,
            f"transactions in the polls (raw; refreshes: {refreshes}), {poll_connections} connections opened",
        ),
        (
            "polls_page_per_s",
            round(pages["ok"] / pages["seconds"]),
            "waiting pages (ticket cookie) per second",
        ),
        (
            "db_queries_per_page_poll",
            round(page_queries / max(1, pages["ok"]), 5),
            f"{page_queries} transactions (raw), {page_connections} connections opened",
        ),
        ("joins_p99_ms", joins["p99_ms"], "99th percentile of a join"),
        (
            "tickets_ok",
            "yes" if tickets == ok_joins else "NO",
            f"{tickets:,} ticket rows numbered 1..n (-1: gaps) for {ok_joins:,} joins",
        ),
        (
            "http_errors",
            polls["errors"] + pages["errors"] + joins["errors"],
            "unexpected responses, all phases",
        ),
    ]
    rows += [(key, simulation[key], explanation) for key, explanation in SIMULATION_CONTEXT]
    rows += [
        ("workers", f"{args.workers}x{args.threads}", "gunicorn workers x threads"),
        ("load", f"{args.load_processes}x{args.connections}", "load-generator processes x connections each"),
        ("load_cores", polls["load_cores"], "cores the load generator used while polling (of 2)"),
    ]
    report(
        "Waiting room: polls, joins (gunicorn, embedded PostgreSQL), a release simulated",
        rows,
        as_json=args.json,
    )


SIMULATION_CONTEXT = [
    ("simulated_minutes", "from the first join until the last person stopped waiting"),
    ("sold_out_after_min", "opening -> sold out"),
    ("booked_90_percent_after_min", "opening -> 90 % of the pairs booked"),
    ("admitted", "people called"),
    ("booked", "pairs booked (all of the release)"),
    ("lapsed", "calls not taken up in time, or admissions that ran out unused"),
    ("max_in_process", "most people in the booking process at once (limit 4,000)"),
    ("hold_failures", "called people who found no free pair (must be 0)"),
    ("page_loads_per_client", "page loads per person (joining, then on a change the JSON shows)"),
    ("page_loads_by_cause", "per person: joining; being called; after the draw; waiting room ended"),
    ("peak_origin_requests_per_s", "busiest second at the origin (page loads + JSON misses)"),
    ("peak_polls_per_s", "busiest second of JSON polls at the cache"),
]


def _extra_arguments(parser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn worker processes (2 did best of 2-5, polls and joins)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)")
    parser.add_argument(
        "--load-processes", type=int, default=1, help="load-generator processes (1 did as well as 2 or 3)"
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections per load process")
    parser.add_argument("--seed", type=int, default=5, help="random seed of the simulation")


def _open_release() -> int:
    """One day of Chemnitz planned and released a minute ago, the tick run once: open."""
    from waitingroom.models import Release
    from waitingroom.services import queue_tick

    _centre, _day, release = one_day_released(name="waiting room", centre_code=CENTRE)
    queue_tick()
    release.refresh_from_db()
    assert release.status == Release.Status.OPEN, release.status
    return release.pk


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _check_tickets(release_id: int) -> int:
    """The number of tickets if their numbers are exactly 1..n and the release counted n, else -1."""
    from django.db.models import Count, Max, Min

    from waitingroom.models import Release, Ticket

    tickets = Ticket.objects.filter(release_id=release_id).aggregate(
        n=Count("id"), distinct=Count("number", distinct=True), low=Min("number"), high=Max("number")
    )
    joined = Release.objects.get(pk=release_id).joined
    n = tickets["n"]
    contiguous = n == tickets["distinct"] == joined and (
        n == 0 or (tickets["low"] == 1 and tickets["high"] == n)
    )
    return n if contiguous else -1


class TransactionCounter:
    """Transactions of the benchmark's database as PostgreSQL counts them (pg_stat_database:
    commits + rollbacks; every query of Django's autocommit is one). There is no
    pg_stat_statements in the embedded server, and a transaction is at least one query."""

    def __init__(self, database: dict):
        import psycopg

        self.connection = psycopg.connect(
            host=database["HOST"], user=database["USER"], dbname=database["NAME"], autocommit=True
        )

    def read(self) -> tuple[int, int]:
        return self.connection.execute(
            "SELECT xact_commit + xact_rollback, sessions FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()

    def around(self, phase) -> tuple[dict, int, int]:
        """Run `phase` and return (its result, the transactions during it, the connections opened
        during it). Each read waits until everyone's counters are published; the read before the
        phase is itself one transaction."""
        time.sleep(STATS_SETTLE_SECONDS)
        transactions, sessions = self.read()
        result = phase()
        time.sleep(STATS_SETTLE_SECONDS)
        transactions_after, sessions_after = self.read()
        return result, transactions_after - transactions - 1, sessions_after - sessions

    def close(self) -> None:
        self.connection.close()


# --- The load generator ----------------------------------------------------------------------


class LoadGenerator:
    """Processes (spawned, so that they share no interpreter lock with each other) of threads that
    each keep one HTTP/1.1 connection (or a new one per request when the server closes it, as
    gunicorn's sync workers do) and send requests back to back for a fixed time."""

    def __init__(self, port: int, *, processes: int, connections: int):
        self.port, self.processes, self.connections = port, processes, connections
        self.pool = multiprocessing.get_context("spawn").Pool(processes)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()

    def run(self, kind: str, payload: dict, *, seconds: float) -> dict:
        start_at = time.time() + 0.5  # every process starts at the same moment
        jobs = [
            (kind, self.port, payload, index, self.connections, start_at, start_at + seconds)
            for index in range(self.processes)
        ]
        parts = self.pool.starmap(_drive, jobs)
        latencies = sorted(latency for part in parts for latency in part["latencies"])
        return {
            "ok": sum(part["ok"] for part in parts),
            "errors": sum(part["errors"] for part in parts),
            "statuses": sum((Counter(part["statuses"]) for part in parts), Counter()),
            "seconds": seconds,
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
            "cookies": [cookie for part in parts for cookie in part["cookies"]],
            "load_cores": round(sum(part["cpu_seconds"] for part in parts) / seconds, 2),
        }


def _drive(kind, port, payload, process, connections, start_at, until) -> dict:
    tally = {"ok": 0, "errors": 0, "statuses": Counter(), "latencies": [], "cookies": []}
    cpu = time.process_time()
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_client, args=(kind, port, payload, process, n, start_at, until, tally, lock))
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally["cpu_seconds"] = time.process_time() - cpu
    return tally


def _client(kind, port, payload, process, number, start_at, until, tally, lock) -> None:
    connection = Connection(port)
    ok = errors = 0
    statuses: Counter = Counter()
    latencies: list[float] = []
    cookies: list[str] = []
    csrf = ""
    if kind == "join":
        _status, headers, _body = connection.exchange(_request("GET", "/warteraum/"))
        csrf = _cookie(headers, "csrftoken") or ""
    elif kind == "page":
        ticket = payload["cookies"][(process * 1000 + number) % len(payload["cookies"])]
        request = _request("GET", "/warteraum/", cookie=f"warteraum={ticket}")
    else:
        request = _request("GET", payload["path"])
    time.sleep(max(0.0, start_at - time.time()))
    sequence = 0
    while time.time() < until:
        sequence += 1
        if kind == "join":
            request = _request(
                "POST",
                "/warteraum/anstellen/",
                cookie=f"csrftoken={csrf}",
                extra=f"X-CSRFToken: {csrf}\r\nReferer: http://127.0.0.1/warteraum/\r\n"
                # one person per join, each with an address of their own (documentation prefix)
                f"X-Forwarded-For: 2001:db8::{process:x}:{number:x}:{sequence:x}\r\n",
                body=b"",
            )
        started = time.perf_counter()
        try:
            status, headers, body = connection.exchange(request)
        except OSError:
            errors += 1
            connection.close()
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        if kind == "join":
            ticket = _cookie(headers, "warteraum")
            good = status == 302 and ticket is not None
            if good and len(cookies) < TICKET_COOKIES:
                cookies.append(ticket)
        elif kind == "page":
            good = status == 200 and b"data-queue" in body
        else:
            good = status == 200 and body.startswith(b"{")
        ok += good
        errors += not good
    connection.close()
    with lock:
        tally["ok"] += ok
        tally["errors"] += errors
        tally["statuses"].update(statuses)
        tally["latencies"] += latencies
        tally["cookies"] += cookies


def _request(
    method: str, path: str, *, cookie: str = "", extra: str = "", body: bytes | None = None
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    head += extra
    if body is not None:
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


def _cookie(headers: bytes, name: str) -> str | None:
    prefix = f"set-cookie: {name}=".encode()
    for line in headers.split(b"\r\n"):
        if line.lower().startswith(prefix):
            return line[len(prefix) :].split(b";", 1)[0].decode()
    return None


class Connection:
    """A minimal HTTP/1.1 client on a raw socket, to keep the load generator's share of the two
    cores small (load_cores): it reads a response by its Content-Length, and reconnects when
    the server closes the connection."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None

    def exchange(self, request: bytes) -> tuple[int, bytes, bytes]:
        """(status, header block, body)."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._receive()
        headers, body = data[:end], data[end + 4 :]
        fields = dict(line.split(b":", 1) for line in headers.lower().split(b"\r\n")[1:] if b":" in line)
        length = int(fields.get(b"content-length", b"-1"))
        while len(body) < length:
            body += self._receive()
        if length < 0 or fields.get(b"connection", b"").strip() == b"close":
            while length < 0 and (chunk := self.sock.recv(65536)):
                body += chunk
            self.close()
        return int(headers[9:12]), headers, body

    def _receive(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# --- The simulation --------------------------------------------------------------------------

PREQUEUE, OPEN, SOLD_OUT, CLOSED = "prequeue", "open", "sold_out", "closed"
STATUS_CODES = {PREQUEUE: 0, OPEN: 1, SOLD_OUT: 2, CLOSED: 3}
HOLD, BOOK, LAPSE = 0, 1, 2


class Simulation:
    """A release on a simulated clock (see the module's docstring). Time 0 is the opening; the
    clock advances in steps of 0.1 s, and what happens within a step happens at its start."""

    clients = 100_000
    pairs = 15_600
    admission_limit = 4_000
    admission_minutes = 20
    prequeue_minutes = 60
    join_minutes = 30  # everyone joins within the half hour before the opening
    booking_minutes = (2.0, 6.0)
    lapse_share = 0.10
    step = 0.1

    def __init__(self, *, seed: int, web_processes: int):
        import numpy as np
        from django.conf import settings

        self.np = np
        self.rng = np.random.default_rng(seed)
        self.random = random.Random(seed)
        self.web_processes = web_processes
        self.enter_minutes = settings.WAITINGROOM_ENTER_MINUTES
        self.tick_steps = round(settings.WAITINGROOM_TICK_SECONDS / self.step)
        self.state_steps = round(settings.WAITINGROOM_STATE_SECONDS / self.step)
        self.poll_steps = settings.WAITINGROOM_POLL_SECONDS / self.step

    def run(self) -> dict:
        from datetime import UTC, datetime

        from waitingroom.selectors import effective_status, place_of

        np, n, step = self.np, self.clients, self.step
        opens_at = datetime(2026, 12, 1, 8, tzinfo=UTC)
        prequeue_from = opens_at - timedelta(minutes=self.prequeue_minutes)
        join_at = np.sort(self.rng.uniform(-self.join_minutes * 60, 0, n))  # client i is ticket i + 1
        first_step = int(np.floor(join_at[0] / step))
        join_step = np.floor(join_at / step).astype(np.int64)

        def status_at(stored: str, k: int) -> int:
            now = opens_at + timedelta(seconds=k * step)
            return STATUS_CODES[effective_status(stored, opens_at, prequeue_from, now)]

        self.db = {"status": PREQUEUE, "prequeue_size": None, "seed": None, "called_up_to": 0}
        self.copies = [dict(self.db, at=None) for _ in range(self.web_processes)]
        self.place = np.zeros(n, dtype=np.int64)  # 0: not drawn yet
        client_of_place = np.zeros(n + 1, dtype=np.int64)
        # What each browser's page says, and when its person stopped waiting (called, sold out).
        self.page_drawn = np.zeros(n, dtype=bool)
        self.page_place = np.zeros(n, dtype=np.int64)
        self.stopped_at = np.full(n, np.nan)
        self.sold_out_seen = np.full(n, np.nan)
        self.admission_until = np.full(n, np.inf)
        self.events: list[tuple[float, int, int]] = []  # (time, HOLD/BOOK/LAPSE, client)
        self.calendar: dict[int, list] = {}  # step -> arrays of clients whose poll falls in it
        self.reload_calendar: dict[int, list] = {}  # step -> clients reloading after the draw
        self.page_loads = 0
        self.reloads: Counter = Counter()  # page loads by what the browser saw change
        self.origin_per_second: Counter = Counter()
        self.status_at = status_at
        held = booked = lapsed = hold_failures = 0
        without_pair: set[int] = set()
        last_booking = sold_out_at = ninety_percent_at = None
        max_in_process = origin_json = 0
        polls_per_second: Counter = Counter()
        cache = None  # the shared cache's copy of the JSON: (step, status, drawn, called_up_to)
        tick_phase = self.random.randrange(self.tick_steps)
        joined = 0
        k = first_step
        while True:
            t = k * step
            db = self.db
            if (k - tick_phase) % self.tick_steps == 0:  # services._advance, as of now
                status = status_at(db["status"], k)
                if status == STATUS_CODES[OPEN]:
                    if db["prequeue_size"] is None:  # the draw, with the project's own function
                        db["prequeue_size"], db["seed"] = joined, self.random.getrandbits(62)
                        numbers = range(1, joined + 1)
                        self.place[:joined] = [place_of(number, joined, db["seed"]) for number in numbers]
                        client_of_place[self.place[:joined]] = np.arange(joined)
                    free = self.pairs - held - booked
                    if free == 0 and held == 0:
                        db["status"] = SOLD_OUT
                        sold_out_at = t
                    else:
                        db["status"] = OPEN
                        busy = db["called_up_to"] - booked - lapsed  # called, admission running, unused
                        capacity = min(
                            self.admission_limit - busy, free - (busy - held), joined - db["called_up_to"]
                        )
                        if capacity > 0:  # services._call
                            called = client_of_place[
                                db["called_up_to"] + 1 : db["called_up_to"] + capacity + 1
                            ]
                            self.admission_until[called] = t + self.admission_minutes * 60
                            db["called_up_to"] += capacity
                            busy += capacity
                        max_in_process = max(max_in_process, busy)
            while self.events and self.events[0][0] < t + step:  # the booking pipeline
                at, kind, client = heapq.heappop(self.events)
                if kind == HOLD:
                    if self.pairs - held - booked > 0:
                        held += 1
                    else:
                        hold_failures += 1
                        without_pair.add(client)
                elif kind == BOOK and client in without_pair:
                    lapsed += 1  # found nothing to book: the admission goes unused
                elif kind == BOOK:
                    held, booked, last_booking = held - 1, booked + 1, at
                    if booked == int(self.pairs * 0.9):
                        ninety_percent_at = at
                else:
                    lapsed += 1
            if joined < n and join_step[joined] <= k:  # joining: the page, then polling
                upto = int(np.searchsorted(join_step, k, side="right"))
                self._schedule(self._load_pages(np.arange(joined, upto), k), k)
                self.reloads["join"] += upto - joined
                joined = upto
            due_lists = self.calendar.pop(k, None)
            if due_lists:  # polls through the shared cache
                due = np.concatenate(due_lists)
                polls_per_second[int(t // 1)] += len(due)
                if cache is None or k - cache[0] >= self.state_steps:  # a miss: the origin answers
                    origin_json += 1
                    self.origin_per_second[int(t // 1)] += 1
                    copy = self._copy(self.random.randrange(self.web_processes), k)
                    drawn = copy["prequeue_size"] is not None
                    cache = (k, status_at(copy["status"], k), drawn, copy["called_up_to"])
                # What static/js/waitingroom.js does with the answer, in its order.
                place = self.page_place[due]
                called = (place > 0) & (place <= cache[3])
                sold = ~called & (cache[1] == STATUS_CODES[SOLD_OUT])
                draw_changed = ~called & ~sold & (self.page_drawn[due] != cache[2])
                ended = ~called & ~sold & ~draw_changed & (cache[1] == STATUS_CODES[CLOSED])
                self.stopped_at[due[sold]] = self.sold_out_seen[due[sold]] = t  # shown in place
                self.reloads["call"] += int(called.sum())
                self.reloads["draw"] += int(draw_changed.sum())
                self.reloads["end"] += int(ended.sum())
                self._schedule(due[~(called | sold | draw_changed | ended)], k)
                self._schedule(self._load_pages(due[called | ended], k), k)
                later = k + np.ceil(self.rng.uniform(0, 3 * self.poll_steps, int(draw_changed.sum())))
                for at, client in zip(
                    later.astype(np.int64).tolist(), due[draw_changed].tolist(), strict=True
                ):
                    self.reload_calendar.setdefault(at, []).append(client)
            reloading = self.reload_calendar.pop(k, None)
            if reloading:  # the draw's reloads, spread out
                self._schedule(self._load_pages(np.array(reloading, dtype=np.int64), k), k)
            k += 1
            if (
                sold_out_at is not None
                and not self.calendar
                and not self.reload_calendar
                and not self.events
                and joined == n
            ):
                break
            if k * step > 6 * 3600:
                raise RuntimeError("the simulated release did not end within six hours")

        waited = np.sum(self.stopped_at - join_at) / 60
        return {
            "origin_requests_per_client_minute": round(float((origin_json + self.page_loads) / waited), 4),
            "sold_out_notice_s": round(float(np.nanmax(self.sold_out_seen)) - last_booking, 1),
            "simulated_minutes": round(float(k * step - join_at[0]) / 60, 1),
            "sold_out_after_min": round(sold_out_at / 60, 1),
            "booked_90_percent_after_min": round(ninety_percent_at / 60, 1),
            "admitted": int(self.db["called_up_to"]),
            "booked": booked,
            "lapsed": lapsed,
            "max_in_process": int(max_in_process),
            "hold_failures": hold_failures,
            "page_loads_per_client": round(self.page_loads / n, 2),
            "page_loads_by_cause": ", ".join(
                f"{cause} {count / n:.2f}" for cause, count in self.reloads.items()
            ),
            "peak_origin_requests_per_s": max(self.origin_per_second.values()),
            "peak_polls_per_s": max(polls_per_second.values()),
            "origin_json": origin_json,
            "page_loads": self.page_loads,
        }

    def _copy(self, process: int, k: int) -> dict:
        """A web process's copy of the queue state, refreshed first if it has aged (one query)."""
        copy = self.copies[process]
        if copy["at"] is None or k - copy["at"] >= self.state_steps:
            copy.update(self.db, at=k)
        return copy

    def _load_pages(self, clients, k: int):
        """The waiting pages of `clients`, each rendered by a random web process from its copy;
        returns those whose page still waits (it polls again)."""
        np = self.np
        if len(clients) == 0:
            return clients
        self.page_loads += len(clients)
        self.origin_per_second[int(k * self.step // 1)] += len(clients)
        chosen = self.rng.integers(0, self.web_processes, len(clients))
        still = []
        for process in range(self.web_processes):
            mine = clients[chosen == process]
            if len(mine) == 0:
                continue
            copy = self._copy(process, k)
            status = self.status_at(copy["status"], k)
            drawn = copy["prequeue_size"] is not None
            places = self.place[mine] if drawn else np.zeros(len(mine), dtype=np.int64)
            called = (places > 0) & (places <= copy["called_up_to"])
            self.page_drawn[mine], self.page_place[mine] = drawn, places
            if status in (STATUS_CODES[PREQUEUE], STATUS_CODES[OPEN]):
                self.stopped_at[mine[called]] = k * self.step
                self._enter(mine[called], k * self.step)
                still.append(mine[~called])
            else:
                self.stopped_at[mine] = k * self.step
                if status == STATUS_CODES[SOLD_OUT]:
                    self.sold_out_seen[mine] = k * self.step
        return np.concatenate(still) if still else clients[:0]

    def _schedule(self, clients, k: int) -> None:
        """The next poll of each of `clients`: the suggested interval, 80 % to 120 % of it."""
        np = self.np
        if len(clients) == 0:
            return
        due = k + np.ceil(self.poll_steps * self.rng.uniform(0.8, 1.2, len(clients))).astype(np.int64)
        order = np.argsort(due, kind="stable")
        due, clients = due[order], clients[order]
        bounds = np.flatnonzero(np.diff(due)) + 1
        for part_due, part in zip(due[np.r_[0, bounds]], np.split(clients, bounds), strict=True):
            self.calendar.setdefault(int(part_due), []).append(part)

    def _enter(self, clients, t: float) -> None:
        """Called people see their turn at `t` and book within 2 to 6 minutes, holding their pair
        from about halfway; one in ten never comes in, and their call lapses
        WAITINGROOM_ENTER_MINUTES after it was made (anyone too slow to book lapses at the end
        of the admission)."""
        for client in clients.tolist():
            until = float(self.admission_until[client])
            called_at = until - self.admission_minutes * 60
            minutes = self.random.uniform(*self.booking_minutes)
            if self.random.random() < self.lapse_share:
                heapq.heappush(self.events, (called_at + self.enter_minutes * 60, LAPSE, client))
                continue
            if t + minutes * 60 >= until:
                heapq.heappush(self.events, (until, LAPSE, client))
                continue
            heapq.heappush(self.events, (t + minutes * 60 * self.random.uniform(0.3, 0.7), HOLD, client))
            heapq.heappush(self.events, (t + minutes * 60, BOOK, client))


if __name__ == "__main__":
    main()
