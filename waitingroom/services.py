"""Writes of the waiting room: scheduling a release, joining the queue, admission, the tick."""

import hashlib
import hmac
import secrets
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.codes import clean_code, new_code
from centres.models import Centre
from supply.locking import lock_centres_for_planning, ticker_lock
from supply.services.plan_state import forget
from waitingroom.exceptions import (
    AdmissionLapsed,
    AdmissionUsed,
    NotCalledYet,
    QueueClosed,
    ReleaseInvalid,
    TicketNotFound,
    TooManyJoins,
)
from waitingroom.models import Release, Ticket
from waitingroom.selectors import (
    drawn_places,
    effective_status,
    enter_window,
    in_process,
    queue_state,
    release_free,
    release_held,
    release_scope,
)
from waitingroom.tokens import ticket_of_owner

Status = Release.Status
TICKET_CODE_LENGTH = 8
RATE_WINDOW = timedelta(minutes=10)  # the admission rate is measured over this much history


# --- Releases -------------------------------------------------------------------------------


def release_schedule(*, release: Release) -> Release:
    """Make the planned, not yet released pairs in the release's scope bookable from its opening,
    keeping its hotline contingent back (spread evenly over the days). Runs under the planning
    locks of the centres concerned, so that a re-plan never withdraws a pair being released
    (the planner keeps every appointment with `bookable_from` set). Raises ReleaseInvalid if
    nothing in the scope can be released."""
    scope = release_scope(release)
    centre_ids = scope["centre_ids"] or list(Centre.objects.values_list("id", flat=True))
    with transaction.atomic():
        lock_centres_for_planning(centre_ids)
        where, params = _unreleased_firsts(release, scope)
        count = release.hotline_count
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH firsts AS (
                    SELECT f.id, f.second_id, row_number() OVER (ORDER BY f.starts_at, f.id) AS rn,
                           count(*) OVER () AS n
                    FROM supply_appointment f WHERE {where}
                ), picked AS (
                    -- exactly h of n pairs, evenly spaced: where floor(rn * h / n) steps up
                    SELECT id, second_id, (rn * h / n) <> ((rn - 1) * h / n) AS hotline
                    FROM firsts, LATERAL (SELECT LEAST(n, COALESCE(%s, n * %s / 100)) AS h) c
                )
                UPDATE supply_appointment a SET bookable_from = %s, hotline_only = p.hotline
                FROM picked p WHERE a.id = p.id
                RETURNING a.hotline_only
                """,
                [*params, count, release.hotline_percent, release.opens_at],
            )
            hotline = [row[0] for row in cursor.fetchall()]
            if not hotline:
                raise ReleaseInvalid(
                    _("Im gewählten Zeitraum gibt es keine geplanten, noch nicht freigegebenen Termine.")
                )
            # Second doses are released with their first doses (same opening, same contingent).
            cursor.execute(
                """
                UPDATE supply_appointment s SET bookable_from = f.bookable_from, hotline_only = f.hotline_only
                FROM supply_appointment f
                WHERE f.second_id = s.id AND f.bookable_from = %s AND s.bookable_from IS NULL
                  AND f.centre_id = ANY(%s)
                """,
                [release.opens_at, centre_ids],
            )
        forget(centre_ids)
        release.pairs = len(hotline)
        release.hotline_pairs = sum(hotline)
        release.save(update_fields=["pairs", "hotline_pairs"])
    return release


def releasable_pairs(release: Release) -> int:
    """How many planned pairs the release would make bookable (saved, with its scope set)."""
    scope = release_scope(release)
    return releasable_pairs_for(
        centre_ids=scope["centre_ids"],
        vaccine_ids=scope["vaccine_ids"],
        first_day=release.first_day,
        last_day=release.last_day,
        opens_at=release.opens_at,
    )


def releasable_pairs_for(
    *,
    centre_ids: list[int] | None,
    vaccine_ids: list[int] | None,
    first_day: date,
    last_day: date,
    opens_at: datetime,
) -> int:
    """How many planned pairs a release of this scope would make bookable, before it exists (the
    admin form's check). No centre or vaccine ids: all of them."""
    scope = {
        "centre_ids": list(centre_ids or []) or None,
        "vaccine_ids": list(vaccine_ids or []) or None,
        "start": first_day,
        "end": last_day + timedelta(days=1),
    }
    where, params = _unreleased_firsts(Release(opens_at=opens_at), scope)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM supply_appointment f WHERE {where}", params)
        return cursor.fetchone()[0]


def _unreleased_firsts(release: Release, scope: dict) -> tuple[str, list]:
    where = [
        "f.dose = 1",
        "NOT f.booked",
        "f.bookable_from IS NULL",
        "f.starts_at > %s",
        "f.starts_at >= %s",
        "f.starts_at < %s",
    ]
    tz = timezone.get_default_timezone()
    params: list = [
        release.opens_at,
        datetime.combine(scope["start"], datetime.min.time(), tzinfo=tz),
        datetime.combine(scope["end"], datetime.min.time(), tzinfo=tz),
    ]
    if scope["centre_ids"] is not None:
        where.append("f.centre_id = ANY(%s)")
        params.append(scope["centre_ids"])
    if scope["vaccine_ids"] is not None:
        where.append("f.vaccine_id = ANY(%s)")
        params.append(scope["vaccine_ids"])
    return " AND ".join(where), params


def release_close(*, release_id: int) -> Release:
    """End the release's waiting room (its appointments stay bookable, without a queue)."""
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release_id)
        if release.status != Status.CLOSED:
            release.status = Status.CLOSED
            release.closed_at = timezone.now()
            release.save(update_fields=["status", "closed_at"])
    return release


# --- Joining --------------------------------------------------------------------------------


def client_key(address: str) -> str:
    """A keyed hash of the client address: enough to rate-limit joins, without storing addresses."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()[:16]


def queue_join(*, release_id: int, client_address: str) -> Ticket:
    """Draw the next ticket of the release's queue. Before the opening its place is drawn at the
    opening; after it, the place is the ticket's number (arrival order). Raises QueueClosed
    (not in pre-queue or open), TooManyJoins (this address drew too many just now).

    Whether the queue is open comes from the process's copy of the queue states (a few seconds
    old at most: a join in the seconds after a sell-out is told "sold out" by its first poll);
    the rest is one statement."""
    state = queue_state(release_id)
    if state is None or not state.active:
        raise QueueClosed()
    client = client_key(client_address)
    for _attempt in range(3):
        try:
            return _draw(release_id, client)
        except IntegrityError:  # the random code was taken: draw another
            continue
    raise IntegrityError("no free ticket code after three tries")


def _draw(release_id: int, client: str) -> Ticket:
    # One statement in autocommit (the join limit's count, the number, the insert), so the
    # release row's lock (which orders numbers, and which the opening's draw takes) is held only
    # inside PostgreSQL, never while Python runs between a BEGIN and a COMMIT; and one round
    # trip. Inside a caller's transaction a savepoint keeps a failed insert from spoiling it.
    code = new_code(TICKET_CODE_LENGTH)
    atomic = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.execute(
            """
            WITH r AS (
                UPDATE waitingroom_release SET joined = joined + 1
                WHERE id = %(release)s AND (
                    SELECT count(*) FROM waitingroom_ticket
                    WHERE release_id = %(release)s AND client = %(client)s
                      AND created_at >= now() - interval '1 minute'
                ) < %(limit)s
                RETURNING joined, prequeue_size
            )
            INSERT INTO waitingroom_ticket (release_id, number, place, code, client, created_at)
            SELECT %(release)s, r.joined, CASE WHEN r.prequeue_size IS NULL THEN NULL ELSE r.joined END,
                   %(code)s, %(client)s, now()
            FROM r RETURNING id, number, place, created_at
            """,
            {
                "release": release_id,
                "client": client,
                "code": code,
                "limit": settings.WAITINGROOM_JOINS_PER_MINUTE,
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise TooManyJoins()
    pk, number, place, created_at = row
    return Ticket(
        pk=pk,
        release_id=release_id,
        number=number,
        place=place,
        code=code,
        client=client,
        created_at=created_at,
    )


def ticket_find(*, release_id: int, code: str) -> Ticket:
    """The ticket with this code (to restore a place on another browser). Raises TicketNotFound."""
    ticket = Ticket.objects.filter(release_id=release_id, code=clean_code(code)).first()
    if ticket is None:
        raise TicketNotFound()
    return ticket


# --- Admission ------------------------------------------------------------------------------


def admission_enter(*, ticket_id: int) -> Ticket:
    """Let a called ticket into booking: returns it with `admission_until`. Raises NotCalledYet,
    AdmissionLapsed (its time ran out, or it was not taken up within WAITINGROOM_ENTER_MINUTES
    of the call: queue again), AdmissionUsed."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise TicketNotFound()
    if ticket.used_at is not None:
        raise AdmissionUsed()
    if ticket.called_at is None:
        raise NotCalledYet()
    now = timezone.now()
    if ticket.admission_until <= now or (
        ticket.entered_at is None and ticket.called_at <= now - enter_window()
    ):
        raise AdmissionLapsed()
    if ticket.entered_at is None:
        Ticket.objects.filter(pk=ticket.pk, entered_at__isnull=True).update(entered_at=now)
    return ticket


def admission_use(*, ticket_id: int, booking_id: int) -> None:
    """Spend the admission on a booking, inside the booking's transaction: one admission, one
    booking (a copied cookie books nothing more). Raises AdmissionUsed."""
    used = Ticket.objects.filter(pk=ticket_id, used_at__isnull=True).update(
        used_at=timezone.now(), booking_id=booking_id
    )
    if not used:
        raise AdmissionUsed()


def booking_confirmed_receiver(sender, *, booking, hold, **kwargs) -> None:
    """booking.signals.booking_confirmed: a hold made under an admission spends it."""
    ticket_id = ticket_of_owner(hold.owner)
    if ticket_id is not None:
        admission_use(ticket_id=ticket_id, booking_id=booking.pk)


# --- The tick -------------------------------------------------------------------------------


def queue_tick(*, now: datetime | None = None) -> list[Release]:
    """Advance every release that is not over: start its pre-queue, open it (drawing the
    pre-queue's places), call waiting tickets as booking capacity frees up, mark it sold out,
    and publish its shared state. Each release is advanced under its row lock, so ticks running
    side by side (several workers) never call anyone twice."""
    ticked = []
    for release_id in Release.objects.filter(
        status__in=[Status.SCHEDULED, Status.PREQUEUE, Status.OPEN]
    ).values_list("pk", flat=True):
        with transaction.atomic():
            release = Release.objects.select_for_update().get(pk=release_id)
            _advance(release, now or _database_now())
            ticked.append(release)
    return ticked


def _database_now() -> datetime:
    """The transaction's now(): the clock `bookable_from` is compared with when free pairs are
    counted, so that a tick never sees a release open whose pairs are not bookable yet."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def _advance(release: Release, now: datetime) -> None:
    was = release.status
    status = effective_status(release.status, release.opens_at, release.prequeue_from, now)
    fields = {"status", "state"}
    if status == Status.OPEN and release.prequeue_size is None:
        _draw_places(release)
        fields |= {"prequeue_size", "draw_seed"}
    state = dict(release.state or {})
    if status == Status.OPEN:
        if timezone.localdate(now) > release.last_day:
            status = Status.CLOSED
            release.closed_at = now
            fields.add("closed_at")
        else:
            free = release_free(release)
            state["free"] = free
            # Not at the opening tick itself: the first count of a release is never "sold out".
            if free == 0 and was == Status.OPEN and release_held(release) == 0:
                status = Status.SOLD_OUT
                release.closed_at = now
                fields.add("closed_at")
            else:
                _call(release, now, free)
                fields.add("called_up_to")
    elif status == Status.PREQUEUE:
        state["free"] = release.pairs - release.hotline_pairs
    release.status = status
    samples = [s for s in state.get("samples", []) if s[0] >= (now - RATE_WINDOW).timestamp()]
    samples.append([now.timestamp(), release.called_up_to])
    state["samples"] = samples
    elapsed = (samples[-1][0] - samples[0][0]) / 60
    state["rate_per_minute"] = (
        round((samples[-1][1] - samples[0][1]) / elapsed, 1) if elapsed >= 0.5 else None
    )
    state["computed_at"] = now.isoformat()
    release.state = state
    release.save(update_fields=sorted(fields))


def _draw_places(release: Release) -> None:
    """At the opening: shuffle the numbers of those who joined before it (1..N) into places 1..N,
    uniformly at random (selectors.drawn_places); those who joined after the opening but before this
    tick keep their arrival order behind them. Each ticket's place is stored, so that the tick
    can call by place."""
    release.prequeue_size = Ticket.objects.filter(release=release, created_at__lt=release.opens_at).count()
    release.draw_seed = secrets.randbits(62)
    places = drawn_places(release.draw_seed, release.prequeue_size)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE waitingroom_ticket t SET place = v.place
            FROM unnest(%s::int[], %s::int[]) AS v(number, place)
            WHERE t.release_id = %s AND t.number = v.number
            """,
            [list(range(1, release.prequeue_size + 1)), list(places), release.pk],
        )
        cursor.execute(
            "UPDATE waitingroom_ticket SET place = number WHERE release_id = %s AND number > %s",
            [release.pk, release.prequeue_size],
        )


def _call(release: Release, now: datetime, free: int) -> None:
    """Call the next waiting places, as many as booking can serve: never more people in the
    booking process than the limit, and never more without a pair than there are free pairs."""
    busy, holding = in_process(release, now)
    capacity = min(
        release.admission_limit - busy,
        free - (busy - holding),
        release.joined - release.called_up_to,
    )
    if capacity <= 0:
        return
    up_to = release.called_up_to + capacity
    Ticket.objects.filter(release=release, place__gt=release.called_up_to, place__lte=up_to).update(
        called_at=now, admission_until=now + timedelta(minutes=release.admission_minutes)
    )
    release.called_up_to = up_to


def queue_ticker(*, seconds: float = 58, interval: float | None = None) -> int:
    """Tick every WAITINGROOM_TICK_SECONDS for `seconds` (a task started each minute); only one
    ticker runs at a time (a session advisory lock), another one returns at once. Returns the
    number of ticks."""
    interval = interval or settings.WAITINGROOM_TICK_SECONDS
    ticks = 0
    with ticker_lock() as mine:
        if not mine:
            return 0
        deadline = time.monotonic() + seconds
        while True:
            queue_tick()
            ticks += 1
            if time.monotonic() + interval > deadline:
                return ticks
            time.sleep(interval)
