"""Planning runs: load a centre's stock, capacity and kept appointments, run the planner,
write the difference. Requested by staff or after an upload, run by a task.

Which appointments the planner may replace: unreleased, unbooked first doses (with their
second doses) whose day lies in the planned window. Everything else is kept as it is and
counted against stock and capacity (DESIGN invariant 4).
"""

import logging
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from centres.models import Centre
from centres.selectors import day_capacities
from impfportal.tasks import enqueue_on_commit
from supply import planner
from supply.exceptions import PlanningBusy
from supply.locking import lock_centres_for_planning
from supply.models import Appointment, Delivery, PlanningSettings, PlanRun, ShortfallAlert, Vaccine
from supply.services import plan_state
from supply.services.plan_state import StalePlanState

logger = logging.getLogger(__name__)
TZ = ZoneInfo(settings.TIME_ZONE)
ANALYZE_AFTER_ROWS = 20_000


def _replaceable(alias: str) -> str:
    """SQL: `alias` is a first dose the planner may replace (unreleased, unbooked, in the window).
    Takes two parameters, the window's start and end."""
    return (
        f"{alias}.dose = 1 AND {plan_state.unreleased(alias)}"
        f" AND {alias}.starts_at >= %s AND {alias}.starts_at < %s"
    )


@transaction.atomic
def plan_run_request(
    *, reason: str, requested_by=None, plan_from: date | None = None, plan_to: date | None = None
) -> PlanRun:
    """Create a queued plan run; the task worker starts it after the transaction commits.

    Without a window the run plans from the day after it starts, for the configured horizon.
    """
    if plan_from and plan_to and plan_to < plan_from:
        raise ValueError("plan_to before plan_from")
    # A run that has not started yet will read the newest deliveries anyway: no second one.
    waiting = PlanRun.objects.filter(state=PlanRun.State.QUEUED, plan_from=plan_from, plan_to=plan_to).first()
    if waiting is not None:
        return waiting
    run = PlanRun.objects.create(
        reason=reason, requested_by=requested_by, plan_from=plan_from, plan_to=plan_to
    )
    enqueue_on_commit("supply.tasks.plan_run_execute", run.pk)
    return run


def plan_run_execute(*, run_id: int, plan_from: date | None = None, plan_to: date | None = None) -> PlanRun:
    """Plan every active centre, one transaction each, recording progress on the run.

    The window: as given, else the run's, else from tomorrow for the configured horizon. A run
    that is no longer queued (it ran already, say synchronously before its task reached the
    worker) is returned as it is: the run is claimed by a conditional update, so two workers
    never plan it twice.
    """
    options = PlanningSettings.load()
    run = PlanRun.objects.get(pk=run_id)
    plan_from = plan_from or run.plan_from or timezone.localdate() + timedelta(days=1)
    plan_to = plan_to or run.plan_to or plan_from + timedelta(days=options.horizon_days - 1)
    claimed = PlanRun.objects.filter(pk=run_id, state=PlanRun.State.QUEUED).update(
        state=PlanRun.State.RUNNING, started_at=timezone.now(), plan_from=plan_from, plan_to=plan_to
    )
    if not claimed:
        logger.info("plan run %s is %s already; not run again", run_id, run.state)
        return run
    run.refresh_from_db()
    vaccines = list(Vaccine.objects.filter(active=True).order_by("id"))
    centres = list(Centre.objects.filter(active=True).order_by("code"))
    reports = []
    try:
        for number, centre in enumerate(centres, start=1):
            _progress(run, number - 1, len(centres), centre)
            with transaction.atomic():
                lock_centres_for_planning([centre.id])
                plan = partial(
                    _plan_centre,
                    centre,
                    vaccines,
                    plan_from,
                    plan_to,
                    options.forecast_share_percent,
                    run=run,
                )
                result = _plan_with_retries(plan, centre)
            run.created += result.created
            run.withdrawn += result.withdrawn
            reports.append(result.report)
            _refresh_statistics(result.created + result.withdrawn)
    except Exception as exc:
        logger.exception("plan run %s failed", run.pk)
        run.state, run.error = PlanRun.State.FAILED, f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "error", "finished_at", "created", "withdrawn"])
        raise
    run.state, run.finished_at = PlanRun.State.DONE, timezone.now()
    run.progress_percent, run.progress_text = 100, ""
    run.report = {"centres": reports}
    run.save(
        update_fields=[
            "state",
            "finished_at",
            "progress_percent",
            "progress_text",
            "report",
            "created",
            "withdrawn",
        ]
    )
    return run


def _plan_with_retries(plan, centre, attempts: int = 3) -> "CentreResult":
    """Plan a centre, first from its stored state; if the appointments changed under the plan
    (StalePlanState), again from a full read. Each try has its own savepoint."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return plan(trust_state=attempt == 0)
        except StalePlanState:
            logger.warning("plan state of %s was stale; planning from a full read", centre.code)
    raise PlanningBusy()


def _refresh_statistics(written: int) -> None:
    """ANALYZE the appointment table after a centre's bulk write.

    Right after a bulk COPY, autovacuum has not analysed the table yet. Then a centre that is
    missing from the statistics looks empty to PostgreSQL, which planned its queries as a nested
    loop rescanning the centre's rows for every row: minutes instead of 0.2 s (seen for the last
    centres of a season plan). The threshold is in rows, not a share of the table, because what
    matters is one centre's rows. ANALYZE samples the table: ~0.3 s at 2.5 million rows.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'supply_appointment'::regclass")
        estimated = max(cursor.fetchone()[0], 0)
        if written >= ANALYZE_AFTER_ROWS or (written and written >= estimated / 10):
            cursor.execute("ANALYZE supply_appointment")


def _progress(run: PlanRun, done: int, total: int, centre: Centre) -> None:
    """`done` of `total` centres are planned; `centre` is next."""
    run.progress_percent = done * 100 // total
    run.progress_text = f"{done + 1}/{total}: {centre.name}"
    run.save(update_fields=["progress_percent", "progress_text", "created", "withdrawn"])


@dataclass
class CentreResult:
    created: int
    withdrawn: int
    report: dict


def _plan_centre(centre, vaccines, plan_from, plan_to, forecast_share, *, run, trust_state) -> CentreResult:
    """Plan one centre. Precondition: inside a transaction holding the centre's planning lock.

    Raises StalePlanState when the stored state of the centre's appointments proved wrong.
    """
    longest = max((v.interval_max_days or 0 for v in vaccines), default=0)
    days = (plan_to - plan_from).days + 1 + longest
    day_list = [plan_from + timedelta(days=i) for i in range(days)]
    window = (_start_of(plan_from), _start_of(plan_to + timedelta(days=1)))

    capacities = day_capacities(centres=[centre], start=plan_from, end=day_list[-1])
    steps = [capacities[centre.id, day] for day in day_list]
    minutes = [capacity.start_minutes for capacity in steps]
    ids = [v.id for v in vaccines]
    inp = planner.CentreInput(
        vaccines=[vaccine_spec(v) for v in vaccines],
        plan_days=(plan_to - plan_from).days + 1,
        days=days,
        capacity=np.array([capacity.total for capacity in steps], np.int64),
        deliveries={vid: np.zeros(days, np.int64) for vid in ids},
        fixed_doses={vid: np.zeros(days, np.int64) for vid in ids},
        fixed_per_day=np.zeros(days, np.int64),
        opening=dict.fromkeys(ids, 0),
    )
    arriving = {vid: np.zeros(days, np.int64) for vid in ids}  # full doses, for the report
    for vaccine_id, day, doses, status in Delivery.objects.filter(
        centre=centre, vaccine_id__in=ids, date__lte=day_list[-1]
    ).values_list("vaccine_id", "date", "doses", "status"):
        counted = _counted(doses, status, forecast_share)
        if day < plan_from:
            inp.opening[vaccine_id] += counted
        else:
            inp.deliveries[vaccine_id][(day - plan_from).days] += counted
            if status != Delivery.Status.CANCELLED:
                arriving[vaccine_id][(day - plan_from).days] += doses

    clock = _Clock(day_list)
    existing = plan_state.existing_appointments(centre.id, window[0], trust_state=trust_state)
    replaceable_rows = existing.pairs[existing.pairs[:, 1] < int(window[1].timestamp())]
    replaceable = plan_state.pair_counter(replaceable_rows)
    kept_steps = defaultdict(Counter)  # day index -> step -> kept appointments
    kept_by_dose = defaultdict(int)
    before, kept = existing.before, _kept_appointments(existing, clock, replaceable_rows)
    for vaccine_id, count in before.items():
        if vaccine_id in inp.opening:
            inp.opening[vaccine_id] -= count
    for vaccine_id, index, minute, dose, count in kept:
        if vaccine_id not in inp.fixed_doses:
            continue
        inp.fixed_doses[vaccine_id][index] += count
        inp.fixed_per_day[index] += count
        kept_steps[index][_step_of(minutes[index], minute)] += count
        kept_by_dose[index, dose] += count

    counts = planner.plan_counts(inp)
    free_steps = [
        planner.DaySteps(
            day_minutes, _free_lanes(steps[index].per_step, len(day_minutes), kept_steps.get(index))
        )
        for index, day_minutes in enumerate(minutes)
    ]
    timed = planner.assign_times(counts, free_steps)
    surplus, missing = _changes(clock, timed, replaceable)
    withdrawn = _delete_pairs(centre.id, window, surplus) if surplus else 0
    if withdrawn != plan_state.doses(surplus)[:, 3].sum():
        # Pairs that were claimed, booked or released since they were read (or that a stale
        # state called replaceable) were not withdrawn: plan the centre again from a fresh read.
        raise plan_state.StalePlanState(centre.code)
    created = _insert_pairs(centre.id, missing) if missing else 0
    plan_state.remember(centre.id, window[0], existing, surplus, missing)
    _record_shortfalls(centre, vaccines, day_list, counts.shortfalls, run)
    report = _report(centre, vaccines, day_list, inp, counts, arriving, kept_by_dose, steps)
    return CentreResult(created, withdrawn, report)


def vaccine_spec(vaccine: Vaccine) -> planner.VaccineSpec:
    """The planner's view of a vaccine."""
    return planner.VaccineSpec(
        id=vaccine.id,
        code=vaccine.code,
        doses_per_vial=vaccine.doses_per_vial,
        two_doses=vaccine.two_doses,
        interval_min=vaccine.interval_min_days or 0,
        interval_target=vaccine.interval_target_days or 0,
        interval_max=vaccine.interval_max_days or 0,
    )


def _free_lanes(lanes: int, step_count: int, kept: Counter | None) -> tuple[int, ...]:
    if not kept:
        return (lanes,) * step_count
    return tuple(max(0, lanes - kept[step]) for step in range(step_count))


def _counted(doses: int, status: str, forecast_share: int) -> int:
    """Doses the planner may rely on: confirmed and delivered in full, forecasts by a share.

    A return (negative doses) is certain and counts in full; a cancelled delivery not at all.
    """
    if status == Delivery.Status.CANCELLED:
        return 0
    if status == Delivery.Status.FORECAST and doses > 0:
        return doses * forecast_share // 100
    return doses


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


def _step_of(day_minutes: tuple[int, ...], minute: int) -> int:
    """The time step an appointment at `minute` falls into (the last step starting at or before it)."""
    return max(0, bisect_right(day_minutes, minute) - 1)


class _Clock:
    """Epoch seconds <-> (day index, minute of day) over the planned days, in the centres' time zone.

    Converting through zoned datetimes one appointment at a time took a third of a re-plan's
    Python time. A day's moments are its local midnight plus minutes, except on the two days
    a year the clocks change, which take the slow path.
    """

    def __init__(self, day_list: list[date]):
        self.days = day_list
        self.midnights = [int(_start_of(day).timestamp()) for day in day_list]
        self.end_epoch = int(_start_of(day_list[-1] + timedelta(days=1)).timestamp())
        self.regular = [
            _start_of(day).utcoffset() == datetime.combine(day, time(23, 59), tzinfo=TZ).utcoffset()
            for day in day_list
        ]

    def epoch(self, index: int, minute: int) -> int:
        if self.regular[index]:
            return self.midnights[index] + minute * 60
        moment = datetime.combine(self.days[index], time(minute // 60, minute % 60), tzinfo=TZ)
        return int(moment.timestamp())

    def local(self, epoch: int) -> tuple[int, int]:
        """(day index, minute of day) of a moment on one of the days."""
        index = bisect_right(self.midnights, epoch) - 1
        if self.regular[index]:
            return index, (epoch - self.midnights[index]) // 60
        moment = datetime.fromtimestamp(epoch, TZ)
        return index, moment.hour * 60 + moment.minute


def _kept_appointments(existing: plan_state.Existing, clock: _Clock, replaceable_rows):
    """Appointments the planner keeps from the window's start to the clock's last day: all but
    the replaceable pairs, as (vaccine, day index, minute of day, dose, count)."""
    in_days = existing.appointments[existing.appointments[:, 1] < clock.end_epoch]
    rows = plan_state.summed(in_days, plan_state.doses(replaceable_rows, -1))
    return [
        (vaccine_id, *clock.local(epoch), dose, count)
        for vaccine_id, epoch, dose, count in rows.tolist()
        if count > 0
    ]


def _changes(clock: _Clock, timed, existing: Counter) -> tuple[Counter, Counter]:
    """What makes the replaceable pairs of the window (`existing`) equal to the plan: the pairs
    to withdraw and those to add, touching as few as possible.

    Pairs are compared as multisets of (vaccine, first time, second time), times as epoch
    seconds (hashing zoned datetimes was the slowest part of a re-plan): a re-plan that changes
    nothing writes nothing, and one that moves ten pairs withdraws and adds ten.
    """
    at = clock.epoch
    wanted = Counter()
    for vaccine_id, day, minute, second_day, second_minute, count in timed:
        second = at(second_day, second_minute) if second_day is not None else None
        wanted[vaccine_id, at(day, minute), second] += count
    return existing - wanted, wanted - existing


def _staged(cursor, table: str, columns: str, copied: str, rows) -> None:
    """A temporary table filled through COPY. ON COMMIT DROP alone is not enough: inside an outer
    transaction (tests, a caller's atomic block) it would outlive the centre's savepoint, so the
    caller drops it when done."""
    cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    with cursor.cursor.copy(f"COPY {table} ({copied}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _delete_pairs(centre_id: int, window, surplus: Counter) -> int:
    """Withdraw `count` replaceable pairs of each (vaccine, first time, second time)."""
    with connection.cursor() as cursor:
        _staged(
            cursor,
            "plan_surplus",
            "vaccine_id bigint, first_at bigint, second_at bigint, n int",
            "vaccine_id, first_at, second_at, n",
            (
                (vaccine_id, first_at, second_at, n)
                for (vaccine_id, first_at, second_at), n in surplus.items()
            ),
        )
        cursor.execute(
            f"""
            WITH ranked AS (
                SELECT f.id, f.second_id, p.n,
                       row_number() OVER (
                           PARTITION BY p.vaccine_id, p.first_at, p.second_at ORDER BY f.id DESC
                       )
                FROM plan_surplus p
                JOIN supply_appointment f ON f.centre_id = %s AND f.vaccine_id = p.vaccine_id
                                         AND f.starts_at = to_timestamp(p.first_at)
                LEFT JOIN supply_appointment s ON s.id = f.second_id AND s.centre_id = f.centre_id
                WHERE {_replaceable("f")} AND s.starts_at IS NOT DISTINCT FROM to_timestamp(p.second_at)
            ), doomed AS (SELECT id, second_id FROM ranked WHERE row_number <= n)
            DELETE FROM supply_appointment
            WHERE id IN (SELECT id FROM doomed
                         UNION ALL SELECT second_id FROM doomed WHERE second_id IS NOT NULL)
            """,
            [centre_id, *window],
        )
        withdrawn = cursor.rowcount
        cursor.execute("DROP TABLE plan_surplus")
        return withdrawn


def _insert_pairs(centre_id: int, missing: Counter) -> int:
    """Bulk insert through COPY, ids drawn from the table's sequence first so that each first
    dose can name its second dose in the same pass."""
    pairs = sum(missing.values())
    seconds = sum(count for (_, _, second_at), count in missing.items() if second_at is not None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('supply_appointment', 'id')) FROM generate_series(1, %s)",
            [pairs + seconds],
        )
        ids = iter([row[0] for row in cursor.fetchall()])
        moment = {}  # epoch seconds -> aware datetime, for COPY

        def starts(epoch):
            if epoch not in moment:
                moment[epoch] = datetime.fromtimestamp(epoch, TZ)
            return moment[epoch]

        columns = "id, centre_id, vaccine_id, starts_at, dose, second_id, booked"
        with cursor.cursor.copy(f"COPY supply_appointment ({columns}) FROM STDIN") as copy:
            for (vaccine_id, first_at, second_at), count in missing.items():
                for _ in range(count):
                    second_id = None
                    if second_at is not None:
                        second_id = next(ids)
                        copy.write_row((second_id, centre_id, vaccine_id, starts(second_at), 2, None, False))
                    copy.write_row((next(ids), centre_id, vaccine_id, starts(first_at), 1, second_id, False))
    return pairs + seconds


def _record_shortfalls(centre, vaccines, day_list, shortfalls, run) -> None:
    """Raise an alert for each vaccine whose kept appointments deliveries no longer cover;
    close the alerts of vaccines that are covered again."""
    short_ids = {shortfall.vaccine_id for shortfall in shortfalls}
    ShortfallAlert.objects.filter(centre=centre, resolved_at__isnull=True).exclude(
        vaccine_id__in=short_ids
    ).update(resolved_at=timezone.now())
    for shortfall in shortfalls:
        first_day, last_day = day_list[shortfall.first_day], day_list[shortfall.last_day]
        alert = ShortfallAlert.objects.create(
            centre=centre,
            vaccine_id=shortfall.vaccine_id,
            first_short_day=first_day,
            doses_short=shortfall.doses,
            plan_run=run,
        )
        ShortfallAlert.objects.filter(
            centre=centre, vaccine_id=shortfall.vaccine_id, resolved_at__isnull=True
        ).exclude(pk=alert.pk).update(resolved_at=timezone.now())
        at_risk = Appointment.objects.filter(
            centre=centre,
            vaccine_id=shortfall.vaccine_id,
            starts_at__gte=_start_of(first_day),
            starts_at__lt=_start_of(last_day + timedelta(days=1)),
        ).exclude(booked=False, bookable_from__isnull=True)
        alert.appointments.set(at_risk)
        logger.warning(
            "shortfall at %s for vaccine %s: %s doses", centre.code, shortfall.vaccine_id, shortfall.doses
        )


def _report(centre, vaccines, day_list, inp, counts, arriving, kept_by_dose, steps) -> dict:
    """Per ISO week of the planned window: doses in, first and second doses, leftovers,
    capacity used and what limited the plan; and doses on the shelf per day and vaccine."""
    plan_days = inp.plan_days
    weeks = []
    by_week = defaultdict(list)
    for index in range(plan_days):
        by_week[day_list[index].isocalendar()[:2]].append(index)
    for (year, week), indexes in sorted(by_week.items()):
        first = sum(int(counts.firsts[v.id][indexes].sum()) for v in vaccines)
        second = sum(int(counts.seconds[v.id][indexes].sum()) for v in vaccines)
        first += sum(kept_by_dose[index, 1] for index in indexes)
        second += sum(kept_by_dose[index, 2] for index in indexes)
        capacity = sum(steps[index].total for index in indexes)
        limits = Counter(counts.limit[index] for index in indexes)
        weeks.append(
            {
                "week": f"{year}-W{week:02d}",
                "start": day_list[indexes[0]].isoformat(),
                "doses_in": sum(int(arriving[v.id][indexes].sum()) for v in vaccines),
                "first": first,
                "second": second,
                "leftover": sum(int(counts.leftover[v.id][indexes].sum()) for v in vaccines),
                "capacity": capacity,
                "used": first + second,
                "limit": max(limits, key=lambda reason: (limits[reason], _LIMIT_ORDER[reason])),
            }
        )
    shelf = {}
    for v in vaccines:
        used = inp.fixed_doses[v.id] + counts.firsts[v.id] + counts.seconds[v.id] + counts.leftover[v.id]
        on_shelf = inp.opening[v.id] + np.cumsum(arriving[v.id] - used)
        shelf[v.code] = [int(value) for value in on_shelf]  # through the last second doses
    return {
        "centre": centre.code,
        "name": centre.name,
        "from": day_list[0].isoformat(),
        "weeks": weeks,
        "shelf": shelf,
        "shortfalls": [
            {"vaccine": s.vaccine_id, "from": day_list[s.first_day].isoformat(), "doses": s.doses}
            for s in counts.shortfalls
        ],
    }


_LIMIT_ORDER = {planner.LIMIT_STOCK: 0, planner.LIMIT_VIALS: 1, planner.LIMIT_CAPACITY: 2}
