#!/usr/bin/env python
"""Booking over HTTP under contention, on the website and through the hotline API (issue 4).
Keys with --json: bookings_per_s, p50_ms, p99_ms, double_bookings (website); api_bookings_per_s,
api_p50_ms, api_p99_ms, api_double_bookings, api_errors, availability_p99_ms (API); clients (and
a few more for context). `--mode website` or `--mode api` runs one of the two (default: both).

gunicorn serves the project (DEBUG off, as in production) against the embedded PostgreSQL, one
server for each mode; 64 clients aim at one centre (Chemnitz, the largest) and one day, whose
appointments are all planned, until that day is sold out. Then the database is checked for
appointments booked by more than one active booking.

Website (tomorrow, released with its waiting room closed at once, so the booking pages stand
open): each client books as a citizen would, without JavaScript: the eligibility step and the
list of free times (untimed set-up of each booking), then the three timed steps: hold a time it
picked at random from the list, enter the person's data, confirm. A time that someone else took
in between is picked again.

API (the day after tomorrow, released with 10 % of the pairs kept for the hotline): each client
is one agent of a call centre (its own X-Agent-Id) using one API client of the hotline; its
token is made in the benchmark's database before gunicorn starts, with a budget of 1,000,000
requests a minute, so that the rate limit never interferes (the limit's count still runs on
every request). Per booking a client holds the next free pair of the day (POST /api/v1/holds)
and books it for a new caller (POST /api/v1/bookings: a distinct name and birth date, aged 60 to
94, a Chemnitz postcode, a phone number or an e-mail address); the booking's latency is the two
requests together. Every write carries an Idempotency-Key of its own, and a client sends the
same request with the same key again if the connection failed or the server answers that the
first one still runs. A `no_free_pair` answer means sold out and ends the client. Meanwhile
a few more agents (--availability-clients) search availability again and again (GET
/api/v1/availability: the centre, vaccine and caller's birth date over 14 days from the day)
until the bookings end. Afterwards each client sends its last booking again with its key: the
answer must be the stored one (Idempotent-Replayed), and no booking may have been added.
"""

import http.client
import itertools
import json
import random
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from urllib.parse import urlencode

from _setup import arguments, gunicorn, one_day_released, report, setup_django

CENTRE = "CN01"
CLIENTS = 64
TIME_VALUE = re.compile(r'name="time" value="([^"]+)"')

VACCINE = "comirnaty"
API_HOTLINE_PERCENT = 10  # of the API day's pairs kept for the hotline: claimed first by the API
API_REQUESTS_PER_MINUTE = 1_000_000  # the client's budget: far above what the benchmark sends
AVAILABILITY_CLIENTS = 4
AVAILABILITY_DAYS = 14  # the API's default search range
WRITE_ATTEMPTS = 5  # a write sent again (same Idempotency-Key) after a failed connection or 409


def main() -> None:
    args = arguments(__doc__.splitlines()[0], extra=_extra_arguments)
    setup_django()
    # The API's client and token first, before any web server runs.
    token = _api_token() if args.mode in ("api", "both") else None
    rows: list[tuple[str, object, str]] = []
    if args.mode in ("website", "both"):
        rows += _website(args)
    if token is not None:
        rows += _api(args, token)
    rows += [
        ("clients", args.clients, "concurrent clients, all at one centre and day"),
        ("workers", f"{args.workers}x{args.threads}", "gunicorn workers x threads"),
    ]
    title = {
        "website": "Booking over HTTP on the website: hold, data, confirm",
        "api": "Booking over HTTP through the hotline API: hold, booking",
        "both": "Booking over HTTP: website (hold, data, confirm) and hotline API (hold, booking)",
    }[args.mode]
    report(f"{title} (gunicorn, embedded PostgreSQL)", rows, as_json=args.json)


def _extra_arguments(parser) -> None:
    parser.add_argument(
        "--mode",
        choices=["website", "api", "both"],
        default="both",
        help="book on the website, through the hotline API, or both one after the other (default)",
    )
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument(
        "--availability-clients",
        type=int,
        default=AVAILABILITY_CLIENTS,
        help="API mode: agents searching availability while the others book",
    )
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn worker processes (3 did best of 2-6)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")


def percentile(values: list[float], share: float) -> float:
    """As the website mode has always counted it: the value below which `share` of them lie."""
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 1) if ordered else 0.0


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else 0.0


# --- Website ----------------------------------------------------------------------------------


def _website(args) -> list[tuple[str, object, str]]:
    from waitingroom.services import release_close

    # Planned is not bookable: the day is released, and closing its waiting room at once leaves
    # the appointments bookable without a queue in front of the booking pages.
    centre, day, release = one_day_released(name="booking", centre_code=CENTRE)
    release_close(release_id=release.pk)
    from booking.selectors import free_pairs

    pairs = free_pairs(by="centre", centre_ids=[centre.id]).total()

    with gunicorn(workers=args.workers, threads=args.threads) as port:
        load = Load(port, f"/termin/impfzentrum/{CENTRE}/{day.isoformat()}/{VACCINE}/")
        started = time.perf_counter()
        threads = [threading.Thread(target=load.client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    double = _double_bookings()
    latencies = load.latencies
    return [
        ("bookings_per_s", round(load.bookings / elapsed, 1), "bookings made per second (target >= 250)"),
        ("p50_ms", median(latencies), "median latency of a timed request"),
        ("p99_ms", percentile(latencies, 0.99), "99th percentile (target < 500)"),
        ("double_bookings", double, "appointments booked more than once (target 0)"),
        ("bookings", load.bookings, f"pairs booked of {pairs} free on the day"),
        ("seconds", round(elapsed, 1), "until the day was sold out"),
        ("retries", load.retries, "picked times someone else took first"),
        ("errors", load.errors, "unexpected responses"),
    ]


class Load:
    """The clients' shared tallies; each client books until the day is sold out."""

    def __init__(self, port: int, times_path: str):
        self.port, self.times_path = port, times_path
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.bookings = self.retries = self.errors = 0

    def client(self, number: int) -> None:
        rng = random.Random(number)
        sequence = 0
        while True:
            sequence += 1
            browser = Browser(self.port)
            browser.get("/termin/")
            browser.post("/termin/", {"birth_date": "17.05.1938", "group": "", "postcode": "09111"})
            while True:
                offered = TIME_VALUE.findall(browser.get(self.times_path)[1])
                if not offered:
                    return  # sold out
                status, _body, took = browser.post(self.times_path, {"time": rng.choice(offered)})
                if status == 302:
                    break
                with self.lock:
                    self.retries += 1
            steps = [
                took,
                browser.post(
                    "/termin/angaben/",
                    {
                        "form": "person",
                        "first_name": f"Client{number}",
                        "last_name": f"Booking{sequence}",
                        "email": f"client{number}.{sequence}@example.org",
                        "phone": "",
                        "postcode": "09111",
                    },
                ),
                browser.post("/termin/pruefen/", {}),
            ]
            statuses = [steps[1][0], steps[2][0]]
            with self.lock:
                self.latencies += [took] + [step[2] for step in steps[1:]]
                if statuses == [302, 302]:
                    self.bookings += 1
                else:
                    self.errors += 1


class Browser:
    """One citizen's browser: cookies and the CSRF header, no JavaScript, redirects not followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def get(self, path: str):
        status, body, _took = self._request("GET", path, None)
        return status, body

    def post(self, path: str, data: dict):
        """(status, body, milliseconds)."""
        return self._request("POST", path, urlencode(data))

    def _request(self, method: str, path: str, body: str | None):
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Referer": "http://127.0.0.1/",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        took = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text, took


# --- Hotline API ------------------------------------------------------------------------------


def _api_token() -> str:
    from impfportal.api.services import api_client_create
    from impfportal.models import Scope

    _client, token = api_client_create(
        name="Benchmark call centre",
        scopes=[Scope.AVAILABILITY, Scope.BOOKINGS],
        requests_per_minute=API_REQUESTS_PER_MINUTE,
    )
    return token


def _api(args, token: str) -> list[tuple[str, object, str]]:
    from booking.models import Channel
    from booking.selectors import free_pairs

    # The day after tomorrow: apart from the website's day when both modes run.
    centre, day, _release = one_day_released(
        name="booking api", centre_code=CENTRE, days_ahead=2, hotline_percent=API_HOTLINE_PERCENT
    )
    day_after = day + timedelta(days=1)
    pairs = free_pairs(
        by="centre", centre_ids=[centre.id], start=day, end=day_after, channel=Channel.HOTLINE
    ).total()
    online = free_pairs(by="centre", centre_ids=[centre.id], start=day, end=day_after).total()

    with gunicorn(workers=args.workers, threads=args.threads) as port:
        load = ApiLoad(port, token, day)
        done = threading.Event()
        searchers = [
            threading.Thread(target=load.searcher, args=(n, done)) for n in range(args.availability_clients)
        ]
        bookers = [threading.Thread(target=load.client, args=(n,)) for n in range(args.clients)]
        started = time.perf_counter()
        for thread in searchers + bookers:
            thread.start()
        for thread in bookers:
            thread.join()
        elapsed = time.perf_counter() - started
        done.set()
        for thread in searchers:
            thread.join()
        replays_ok, replays = load.replay_last()

    double = _double_bookings(centre_id=centre.id, day=day)
    in_database = _hotline_bookings(centre.id, day)
    errors = sum(load.errors.values())
    error_kinds = ", ".join(f"{kind} x{n}" for kind, n in load.errors.most_common()) or "none"
    search_kinds = ", ".join(f"{kind} x{n}" for kind, n in load.search_errors.most_common()) or "none"
    return [
        (
            "api_bookings_per_s",
            round(load.bookings / elapsed, 1),
            "bookings made per second (target >= 250)",
        ),
        ("api_p50_ms", median(load.latencies), "median latency of a booking: hold + booking request"),
        ("api_p99_ms", percentile(load.latencies, 0.99), "99th percentile of hold + booking (target < 500)"),
        ("api_double_bookings", double, "appointments booked more than once (target 0)"),
        ("api_errors", errors, f"unexpected responses: {error_kinds}"),
        (
            "availability_p99_ms",
            percentile(load.search_latencies, 0.99),
            "99th percentile of an availability search while the bookings ran",
        ),
        ("availability_p50_ms", median(load.search_latencies), "median of an availability search"),
        (
            "availability_requests",
            len(load.search_latencies),
            f"searches answered by {args.availability_clients} more agents; not 200: {search_kinds}",
        ),
        (
            "api_bookings",
            load.bookings,
            f"pairs booked of {pairs:,} free on the day ({pairs - online:,} of them the hotline's); "
            f"{in_database:,} in the database",
        ),
        ("api_seconds", round(elapsed, 1), "until the day was sold out"),
        ("api_hold_p50_ms", median(load.hold_latencies), "median of a hold request (POST /holds)"),
        ("api_hold_p99_ms", percentile(load.hold_latencies, 0.99), "99th percentile of a hold request"),
        ("api_booking_p50_ms", median(load.booking_latencies), "median of a booking (POST /bookings)"),
        (
            "api_booking_p99_ms",
            percentile(load.booking_latencies, 0.99),
            "99th percentile of a booking request",
        ),
        ("api_resent", load.resent, "writes sent again with the same Idempotency-Key"),
        (
            "api_replays_ok",
            "yes" if replays_ok == replays and in_database == load.bookings else "NO",
            f"{replays_ok} of {replays} last bookings sent again: the stored answer, no booking added",
        ),
        (
            "api_rate_limit",
            API_REQUESTS_PER_MINUTE,
            "requests a minute allowed to the benchmark's API client (never reached)",
        ),
    ]


FIRST_NAMES = [
    "Anna", "Brigitte", "Christa", "Dieter", "Elke", "Frank", "Gisela", "Hans", "Ingrid", "Jürgen",
    "Karin", "Lothar", "Monika", "Norbert", "Otto", "Petra", "Renate", "Siegfried", "Ursula", "Wolfgang",
    "Helga", "Klaus", "Marianne", "Günter", "Ilse", "Horst", "Erika", "Manfred", "Sabine", "Uwe",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun",
    "Krüger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Herrmann",
    "König", "Walter", "Böhme", "Uhlig", "Fröhlich", "Seidel", "Vogel", "Winkler", "Lorenz",
]  # fmt: skip
POSTCODES = ["09111", "09112", "09113", "09116", "09117", "09119", "09120", "09122", "09126", "09130"]
ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
AGE_DAYS = 12_700  # birth dates spread over about 35 years, from 60 years and a day ago
AGE_STEP = 7_919  # a prime not dividing AGE_DAYS: the first AGE_DAYS callers all differ


def caller(index: int) -> dict:
    """The `index`-th caller: a name and a birth date no other caller of the run has (ages 60 to
    94: eligible by age alone, groups 1 to 3 of the priority groups, and for every vaccine), a
    Chemnitz postcode, and a phone number, or for every third an e-mail address."""
    from django.utils import timezone

    today = timezone.localdate()
    sixty = date(today.year - 60, today.month, min(today.day, 28))  # 29 February: a day or so older
    sixty -= timedelta(days=1 + (index * AGE_STEP) % AGE_DAYS)
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    person = {
        "first_name": first,
        "last_name": last,
        "birth_date": sixty.isoformat(),
        "postcode": POSTCODES[index % len(POSTCODES)],
    }
    if index % 3 == 2:
        plain = f"{first}.{last}".lower().translate(ASCII)
        person["email"] = f"{plain}{index}@example.org"
    else:
        person["phone"] = f"0371 {5_000_000 + index * 37 % 4_999_999}"
    return person


class ApiLoad:
    """The agents' shared tallies: bookers hold and book until the day is sold out, searchers
    look up availability until the bookers are done."""

    def __init__(self, port: int, token: str, day: date):
        self.port, self.token, self.day = port, token, day
        self.lock = threading.Lock()
        self.callers = itertools.count()
        self.latencies: list[float] = []
        self.hold_latencies: list[float] = []
        self.booking_latencies: list[float] = []
        self.search_latencies: list[float] = []
        self.bookings = self.resent = 0
        self.errors: Counter[str] = Counter()
        self.search_errors: Counter[str] = Counter()
        self.last: dict[int, tuple[str, dict, str, str]] = {}  # agent number: (path, body, key, code)

    def client(self, number: int) -> None:
        agent = f"bench-agent-{number:03d}"
        hold_body = {"centre": CENTRE, "vaccine": VACCINE, "date": self.day.isoformat()}
        failures = 0
        while failures < 10:
            status, answer, hold_took = self.write(agent, "/api/v1/holds", hold_body)
            if status == 409 and answer.get("code") == "no_free_pair":
                return  # sold out
            if status != 201:
                failures += 1
                self._error("hold", status, answer)
                continue
            with self.lock:
                index = next(self.callers)
            booking = {"hold": answer["token"], "person": caller(index)}
            key = str(uuid.uuid4())
            status, answer, booking_took = self.write(agent, "/api/v1/bookings", booking, key=key)
            if status != 201:
                failures += 1
                self._error("booking", status, answer)
                continue
            with self.lock:
                self.bookings += 1
                self.latencies.append(hold_took + booking_took)
                self.hold_latencies.append(hold_took)
                self.booking_latencies.append(booking_took)
                self.last[number] = ("/api/v1/bookings", booking, key, answer["code"])

    def searcher(self, number: int, done: threading.Event) -> None:
        agent = f"bench-search-{number:03d}"
        callers = itertools.count(1_000_000 * (number + 1))  # birth dates of callers to come
        while not done.is_set():
            query = urlencode(
                {
                    "centre": CENTRE,
                    "vaccine": VACCINE,
                    "date_from": self.day.isoformat(),
                    "date_to": (self.day + timedelta(days=AVAILABILITY_DAYS - 1)).isoformat(),
                    "birth_date": caller(next(callers))["birth_date"],
                }
            )
            try:
                status, answer, took, _headers = self.request("GET", f"/api/v1/availability?{query}", agent)
            except OSError as error:
                with self.lock:
                    self.search_errors[type(error).__name__] += 1
                continue
            with self.lock:
                if status == 200:
                    self.search_latencies.append(took)
                else:
                    self.search_errors[f"{status} {answer.get('code', '')}".strip()] += 1

    def write(self, agent: str, path: str, body: dict, *, key: str | None = None):
        """POST with an Idempotency-Key, sent again with the same key while the connection
        fails or the server says the first one still runs; (status, answer, milliseconds of
        the last attempt)."""
        key = key or str(uuid.uuid4())
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                with self.lock:
                    self.resent += 1
            try:
                status, answer, took, headers = self.request("POST", path, agent, body, key)
            except OSError:
                time.sleep(0.2)
                continue
            if status == 409 and answer.get("code") == "idempotency_in_progress":
                time.sleep(float(headers.get("retry-after", "1")))
                continue
            return status, answer, took
        return 0, {"code": "no_answer"}, 0.0

    def request(self, method: str, path: str, agent: str, body: dict | None = None, key: str | None = None):
        headers = {
            "Authorization": f"Bearer {self.token}",
            "X-Agent-Id": agent,
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            text = response.read()
            took = (time.perf_counter() - started) * 1000
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {"code": "not_json"}
        return response.status, answer if isinstance(answer, dict) else {"list": answer}, took, answer_headers

    def _error(self, step: str, status: int, answer: dict) -> None:
        with self.lock:
            self.errors[f"{step} {status} {answer.get('code', '')}".strip()] += 1

    def replay_last(self) -> tuple[int, int]:
        """Each agent's last booking sent again with its key, as after a lost answer: the same
        booking must come back, marked as replayed. (ok, sent)."""
        ok = 0
        for number, (path, body, key, code) in sorted(self.last.items()):
            status, answer, _took, headers = self.request(
                "POST", path, f"bench-agent-{number:03d}", body, key
            )
            replayed = headers.get("idempotent-replayed") == "true"
            ok += status == 201 and replayed and answer.get("code") == code
        return ok, len(self.last)


# --- Checks in the database -------------------------------------------------------------------


def _double_bookings(*, centre_id: int | None = None, day: date | None = None) -> int:
    """Appointments booked by more than one active booking: of all bookings, or of those whose
    first dose is at this centre on this day."""
    from django.db import connection

    scope, params = "", []
    if centre_id is not None:
        from booking.selectors import local_midnight

        scope = (
            " AND first_id IN (SELECT id FROM supply_appointment"
            " WHERE centre_id = %s AND starts_at >= %s AND starts_at < %s)"
        )
        params = [centre_id, local_midnight(day), local_midnight(day + timedelta(days=1))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT appointment FROM (
                    SELECT first_id AS appointment FROM booking_booking WHERE status = 'active'{scope}
                    UNION ALL
                    SELECT second_id FROM booking_booking
                    WHERE status = 'active' AND second_id IS NOT NULL{scope}
                ) used GROUP BY appointment HAVING count(*) > 1
            ) twice
            """,
            params * 2,
        )
        return cursor.fetchone()[0]


def _hotline_bookings(centre_id: int, day: date) -> int:
    """Active hotline bookings whose first dose is at this centre on this day."""
    from booking.models import Booking, Channel
    from booking.selectors import local_midnight

    return Booking.objects.filter(
        status=Booking.Status.ACTIVE,
        channel=Channel.HOTLINE,
        first__centre_id=centre_id,
        first__starts_at__gte=local_midnight(day),
        first__starts_at__lt=local_midnight(day + timedelta(days=1)),
    ).count()


if __name__ == "__main__":
    main()
