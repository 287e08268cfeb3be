#!/usr/bin/env python
"""Booking over HTTP under contention (issue 4). Keys with --json: bookings_per_s, p50_ms, p99_ms,
double_bookings, clients (and a few more for context).

gunicorn serves the project (DEBUG off, as in production) against the embedded PostgreSQL; one
centre (Chemnitz, the largest) has all its appointments of one day planned, and 64 clients all
aim at that centre and day until it is sold out. Each client books as a citizen would on the
website, without JavaScript: the eligibility step and the list of free times (untimed set-up of
each booking), then the three timed steps: hold a time it picked at random from the list, enter
the person's data, confirm. A time that someone else took in between is picked again. Then the
database is checked for appointments booked twice.
"""

import http.client
import random
import re
import statistics
import threading
import time
from urllib.parse import urlencode

from _setup import arguments, gunicorn, one_day_released, report, setup_django

CENTRE = "CN01"
CLIENTS = 64
TIME_VALUE = re.compile(r'name="time" value="([^"]+)"')


def main() -> None:
    args = arguments(__doc__.splitlines()[0], extra=_extra_arguments)
    setup_django()
    from waitingroom.services import release_close

    # Planned is not bookable: the day is released, and closing its waiting room at once leaves
    # the appointments bookable without a queue in front of the booking pages.
    centre, day, release = one_day_released(name="booking", centre_code=CENTRE)
    release_close(release_id=release.pk)
    from booking.selectors import free_pairs

    pairs = free_pairs(by="centre", centre_ids=[centre.id]).total()

    with gunicorn(workers=args.workers, threads=args.threads) as port:
        load = Load(port, f"/termin/impfzentrum/{CENTRE}/{day.isoformat()}/comirnaty/")
        started = time.perf_counter()
        threads = [threading.Thread(target=load.client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    double = _double_bookings()
    latencies = sorted(load.latencies)
    report(
        "Booking over HTTP: hold, data, confirm (gunicorn, embedded PostgreSQL)",
        [
            ("bookings_per_s", round(load.bookings / elapsed, 1), "bookings made per second (target >= 250)"),
            ("p50_ms", round(statistics.median(latencies), 1), "median latency of a timed request"),
            ("p99_ms", round(latencies[int(len(latencies) * 0.99) - 1], 1), "99th percentile (target < 500)"),
            ("double_bookings", double, "appointments booked more than once (target 0)"),
            ("clients", args.clients, "concurrent clients, all at one centre and day"),
            ("bookings", load.bookings, f"pairs booked of {pairs} free on the day"),
            ("seconds", round(elapsed, 1), "until the day was sold out"),
            ("retries", load.retries, "picked times someone else took first"),
            ("errors", load.errors, "unexpected responses"),
            ("workers", f"{args.workers}x{args.threads}", "gunicorn workers x threads"),
        ],
        as_json=args.json,
    )


def _extra_arguments(parser) -> None:
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn worker processes (3 did best of 2-6)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")


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


def _double_bookings() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT appointment FROM (
                    SELECT first_id AS appointment FROM booking_booking WHERE status = 'active'
                    UNION ALL
                    SELECT second_id FROM booking_booking WHERE status = 'active' AND second_id IS NOT NULL
                ) used GROUP BY appointment HAVING count(*) > 1
            ) twice
            """
        )
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
