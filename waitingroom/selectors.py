"""Reads of the waiting room, most of them without a query.

Every web process keeps the releases' shared queue states in memory and refreshes them with one
query at most every WAITINGROOM_STATE_SECONDS. A poll (the shared JSON, or a waiting page that
compares the state with the browser's signed ticket) and the booking pages' gate are answered
from that copy: polling costs the database nothing, however many people wait.
"""

import random
import threading
import time
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from booking.models import Hold
from booking.selectors import free_pairs, held_pairs
from waitingroom.models import Release, Ticket
from waitingroom.tokens import TicketToken, admission_owner

Status = Release.Status


@dataclass(frozen=True)
class QueueState:
    """One release's queue as the last tick left it, with the status by the clock."""

    release_id: int
    name: str
    status: str
    opens_at: datetime
    prequeue_from: datetime
    joined: int
    prequeue_size: int | None
    draw_seed: int | None
    called_up_to: int
    free: int | None
    rate_per_minute: float | None
    admission_minutes: int
    computed_at: datetime | None
    next_release: tuple[str, datetime] | None

    @property
    def active(self) -> bool:
        return self.status in Release.ACTIVE

    @property
    def waiting(self) -> int:
        return max(0, self.joined - self.called_up_to)

    def public(self) -> dict:
        """The JSON every waiting browser polls (no secrets: the draw seed stays on the server)."""
        return {
            "release": self.release_id,
            "name": self.name,
            "status": self.status,
            "opens_at": self.opens_at.isoformat(),
            "prequeue_from": self.prequeue_from.isoformat(),
            "drawn": self.prequeue_size is not None,
            "called_up_to": self.called_up_to,
            "waiting": self.waiting,
            "free": self.free,
            "rate_per_minute": self.rate_per_minute,
            "next_release": None
            if self.next_release is None
            else {"name": self.next_release[0], "opens_at": self.next_release[1].isoformat()},
            "computed_at": None if self.computed_at is None else self.computed_at.isoformat(),
            "poll_seconds": settings.WAITINGROOM_POLL_SECONDS,
        }


def effective_status(stored: str, opens_at: datetime, prequeue_from: datetime, now: datetime) -> str:
    """The status by the clock: a pre-queue starts and a release opens on time, whether or not
    the tick has run since."""
    if stored in (Status.SCHEDULED, Status.PREQUEUE):
        if now >= opens_at:
            return Status.OPEN
        if now >= prequeue_from:
            return Status.PREQUEUE
    return stored


class _States:
    """The process's copy of the queue states (thread-safe, refreshed at most every few seconds)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: list[dict] = []
        self._fetched = float("-inf")

    def rows(self) -> list[dict]:
        if time.monotonic() - self._fetched >= settings.WAITINGROOM_STATE_SECONDS:
            with self._lock:
                if time.monotonic() - self._fetched >= settings.WAITINGROOM_STATE_SECONDS:
                    self._rows = _current_rows()
                    self._fetched = time.monotonic()
        return self._rows

    def clear(self) -> None:
        self._fetched = float("-inf")


_states = _States()
clear_cache = _states.clear  # for tests, and after a write that must show at once


def _current_rows() -> list[dict]:
    recent = timezone.now() - timedelta(days=1)
    return list(
        Release.objects.filter(
            Q(status__in=[Status.SCHEDULED, Status.PREQUEUE, Status.OPEN, Status.SOLD_OUT])
            | Q(closed_at__gte=recent)
        ).values(
            "id",
            "name",
            "status",
            "opens_at",
            "prequeue_minutes",
            "joined",
            "prequeue_size",
            "draw_seed",
            "called_up_to",
            "admission_minutes",
            "state",
        )
    )


def queue_states(now: datetime | None = None) -> dict[int, QueueState]:
    now = now or timezone.now()
    rows = _states.rows()
    upcoming = sorted(
        (row["opens_at"], row["name"])
        for row in rows
        if row["status"] == Status.SCHEDULED and row["opens_at"] > now
    )
    states = {}
    for row in rows:
        prequeue_from = row["opens_at"] - timedelta(minutes=row["prequeue_minutes"])
        later = [(name, at) for at, name in upcoming if at > row["opens_at"]]
        shared = row["state"] or {}
        states[row["id"]] = QueueState(
            release_id=row["id"],
            name=row["name"],
            status=effective_status(row["status"], row["opens_at"], prequeue_from, now),
            opens_at=row["opens_at"],
            prequeue_from=prequeue_from,
            joined=row["joined"],
            prequeue_size=row["prequeue_size"],
            draw_seed=row["draw_seed"],
            called_up_to=row["called_up_to"],
            free=shared.get("free"),
            rate_per_minute=shared.get("rate_per_minute"),
            admission_minutes=row["admission_minutes"],
            computed_at=datetime.fromisoformat(shared["computed_at"]) if "computed_at" in shared else None,
            next_release=later[0] if later else None,
        )
    return states


def queue_state(release_id: int) -> QueueState | None:
    return queue_states().get(release_id)


def gating_release(now: datetime | None = None) -> QueueState | None:
    """The release whose waiting room stands in front of the booking pages right now (the
    earliest opening of those in pre-queue or open), or None: booking is open to everyone."""
    active = [state for state in queue_states(now).values() if state.active]
    return min(active, key=lambda state: state.opens_at) if active else None


def upcoming_release(now: datetime | None = None) -> QueueState | None:
    """The next release still to open (for the waiting room's start page)."""
    scheduled = [s for s in queue_states(now).values() if s.status == Status.SCHEDULED]
    return min(scheduled, key=lambda state: state.opens_at) if scheduled else None


# --- Places ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def drawn_places(seed: int, size: int) -> array:
    """The drawn places of pre-queue numbers 1..size: places[number - 1] is that number's place.
    A uniform random permutation (Fisher-Yates with a seeded generator): the same seed gives
    the same draw in every process, so each can answer "which place?" without a query."""
    numbers = list(range(size))
    random.Random(seed).shuffle(numbers)  # numbers[place - 1] = the number drawn for that place
    places = array("I", bytes(4 * size))
    for index, number in enumerate(numbers):
        places[number] = index + 1
    return places


def place_of(number: int, prequeue_size: int | None, draw_seed: int | None) -> int | None:
    """The queue place of ticket `number`: drawn if it joined in the pre-queue (None until the
    draw at the opening), its own number if it joined after the opening."""
    if prequeue_size is None:
        return None
    if number > prequeue_size:
        return number
    return drawn_places(draw_seed, prequeue_size)[number - 1]


@dataclass(frozen=True)
class TicketView:
    """What a waiting person is told: their place, who is ahead, the estimated wait."""

    state: QueueState
    ticket: TicketToken
    place: int | None

    @property
    def called(self) -> bool:
        return self.place is not None and self.place <= self.state.called_up_to

    @property
    def in_prequeue(self) -> int:
        """People waiting for the draw (the shared state may be a moment older than this ticket)."""
        return max(self.state.joined, self.ticket.number)

    @property
    def ahead(self) -> int | None:
        if self.place is None:
            return None
        return max(0, self.place - self.state.called_up_to - 1)

    @property
    def wait_minutes(self) -> int | None:
        rate = self.state.rate_per_minute
        if self.ahead is None or not rate:
            return None
        return max(1, round((self.ahead + 1) / rate))


def ticket_view(ticket: TicketToken) -> TicketView | None:
    state = queue_state(ticket.release_id)
    if state is None:
        return None
    return TicketView(state, ticket, place_of(ticket.number, state.prequeue_size, state.draw_seed))


def enter_window() -> timedelta:
    return timedelta(minutes=settings.WAITINGROOM_ENTER_MINUTES)


# --- For the tick (these query) -----------------------------------------------------------


def release_scope(release: Release) -> dict:
    """The release's appointments as free_pairs' filters."""
    centre_ids = list(release.centres.values_list("id", flat=True)) or None
    vaccine_ids = list(release.vaccines.values_list("id", flat=True)) or None
    return {
        "centre_ids": centre_ids,
        "vaccine_ids": vaccine_ids,
        "start": release.first_day,
        "end": release.last_day + timedelta(days=1),
    }


def release_free(release: Release) -> int:
    """Free pairs of the release for the website (without the hotline's contingent)."""
    return free_pairs(by="centre", **release_scope(release)).total()


def release_hotline_free(release: Release) -> int:
    """Free pairs of the release's hotline contingent: what the hotline sees beyond the website."""
    scope = release_scope(release)
    return (
        free_pairs(by="centre", channel="hotline", **scope).total() - free_pairs(by="centre", **scope).total()
    )


def releases_current():
    """Releases whose queue has not been ended, soonest first (the hotline's overview)."""
    return (
        Release.objects.exclude(status=Status.CLOSED)
        .prefetch_related("centres", "vaccines")
        .order_by("opens_at", "id")
    )


def release_held(release: Release) -> int:
    return held_pairs(**release_scope(release))


def in_process(release: Release, now: datetime) -> tuple[int, int]:
    """(people called whose admission runs and who have not booked yet, those of them holding a
    pair). Someone called who has not come in within WAITINGROOM_ENTER_MINUTES has let the call
    lapse: their place in the booking process goes to the next in line."""
    entered_or_recent = Q(entered_at__isnull=False) | Q(called_at__gt=now - enter_window())
    tickets = Ticket.objects.filter(
        entered_or_recent,
        release=release,
        called_at__isnull=False,
        used_at__isnull=True,
        admission_until__gt=now,
    )
    holding = Hold.objects.filter(
        owner__in=[admission_owner(pk) for pk in tickets.values_list("pk", flat=True)],
        booking__isnull=True,
        released_at__isnull=True,
        expires_at__gt=now,
    ).count()
    return tickets.count(), holding
