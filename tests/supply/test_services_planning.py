"""Planning runs against the database: DESIGN invariants 3 and 4, and incremental re-planning."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from supply.models import Appointment, Delivery, PlanningSettings, PlanRun, ShortfallAlert
from supply.services.planning import plan_run_execute, plan_run_request

BERLIN = ZoneInfo("Europe/Berlin")
START = date(2021, 4, 19)  # a Monday
END = date(2021, 5, 16)


def deliver(centre, vaccine, day, doses, status=Delivery.Status.DELIVERED):
    Delivery.objects.update_or_create(
        centre=centre, vaccine=vaccine, date=day, defaults={"doses": doses, "status": status}
    )


def plan(plan_from=START, plan_to=END):
    run = plan_run_request(reason="test")
    # Tasks run synchronously in tests; run again with a fixed window so tests do not depend on today.
    return plan_run_execute(run_id=run.pk, plan_from=plan_from, plan_to=plan_to)


def local_day(moment):
    return moment.astimezone(BERLIN).date()


def doses_per_day(centre, vaccine):
    result = Counter()
    for moment in Appointment.objects.filter(centre=centre, vaccine=vaccine).values_list(
        "starts_at", flat=True
    ):
        result[local_day(moment)] += 1
    return result


def counted_per_day(centre, vaccine, share):
    result = Counter()
    for delivery in Delivery.objects.filter(centre=centre, vaccine=vaccine):
        if delivery.status == Delivery.Status.CANCELLED:
            continue
        full = delivery.status != Delivery.Status.FORECAST
        result[delivery.date] += delivery.doses if full else delivery.doses * share // 100
    return result


def assert_doses_never_run_short(centre, vaccine):
    """DESIGN invariant 3, checked from the rows: cumulative appointment doses never exceed
    cumulative counted deliveries, on any day."""
    share = PlanningSettings.load().forecast_share_percent
    used, counted = doses_per_day(centre, vaccine), counted_per_day(centre, vaccine, share)
    total_used = total_counted = 0
    for day in sorted(set(used) | set(counted)):
        total_used += used[day]
        total_counted += counted[day]
        assert total_used <= total_counted, f"{vaccine.code} short on {day}: {total_used} > {total_counted}"


def mark_booked(queryset):
    """Book pairs as the booking app will: both appointments of a pair together."""
    firsts = [appointment for appointment in queryset if appointment.dose == 1]
    ids = [a.id for a in firsts] + [a.second_id for a in firsts if a.second_id]
    Appointment.objects.filter(id__in=ids).update(booked=True)
    return ids


def test_plan_creates_pairs_within_stock_capacity_and_interval(centre, vaccines):
    comirnaty, janssen = vaccines["comirnaty"], vaccines["johnson"]
    for week in range(4):
        deliver(centre, comirnaty, START + timedelta(days=7 * week), 180)
    deliver(centre, janssen, START, 50)
    deliver(centre, comirnaty, START + timedelta(days=28), 600, Delivery.Status.FORECAST)
    run = plan()

    assert run.state == PlanRun.State.DONE and run.created > 0
    for vaccine in (comirnaty, janssen):
        assert_doses_never_run_short(centre, vaccine)
    firsts = Appointment.objects.filter(centre=centre, vaccine=comirnaty, dose=1).select_related("second")
    assert firsts.exists()
    for first in firsts:
        assert first.second is not None
        assert first.second.dose == 2
        assert (first.second.centre_id, first.second.vaccine_id) == (first.centre_id, first.vaccine_id)
        interval = (local_day(first.second.starts_at) - local_day(first.starts_at)).days
        assert comirnaty.interval_min_days <= interval <= comirnaty.interval_max_days
    assert not Appointment.objects.filter(vaccine=janssen, second__isnull=False).exists()
    assert Appointment.objects.filter(vaccine=janssen).count() == 50  # 10 whole vials

    per_step = Counter(Appointment.objects.filter(centre=centre).values_list("starts_at", flat=True))
    assert max(per_step.values()) <= centre.lanes
    per_day = Counter(local_day(moment) for moment in per_step.elements())
    assert max(per_day.values()) <= 80
    for moment in per_step:
        local = moment.astimezone(BERLIN)
        assert time(8) <= local.time() < time(18) or local.weekday() >= 5


def test_forecasts_count_by_the_configured_share(centre, vaccines):
    moderna = vaccines["moderna"]
    PlanningSettings.objects.update_or_create(pk=1, defaults={"forecast_share_percent": 50})
    deliver(centre, moderna, START, 200, Delivery.Status.FORECAST)
    plan()
    # 50 % of 200 = 100 doses: 50 pairs (5 vials on each of the two days).
    assert Appointment.objects.filter(vaccine=moderna).count() == 100
    assert_doses_never_run_short(centre, moderna)


def test_planning_twice_creates_nothing_new(centre, vaccines):
    deliver(centre, vaccines["comirnaty"], START, 120)
    deliver(centre, vaccines["astra"], START + timedelta(days=2), 100)
    first = plan()
    ids = set(Appointment.objects.values_list("id", flat=True))
    second = plan()
    assert first.created > 0
    assert (second.created, second.withdrawn) == (0, 0)
    assert set(Appointment.objects.values_list("id", flat=True)) == ids


def test_appointments_across_the_clock_change_keep_their_local_times(centre, vaccines):
    """Summer time starts on 2021-03-28: times are local, and re-planning there changes nothing."""
    comirnaty = vaccines["comirnaty"]
    deliver(centre, comirnaty, date(2021, 3, 22), 2400)
    first = plan(date(2021, 3, 22), date(2021, 4, 4))
    second = plan(date(2021, 3, 22), date(2021, 4, 4))
    assert first.created > 0 and (second.created, second.withdrawn) == (0, 0)
    for moment in Appointment.objects.values_list("starts_at", flat=True):
        local = moment.astimezone(BERLIN)
        assert local.minute % 15 == 0
        assert time(8) <= local.time() < time(18) or (
            local.weekday() >= 5 and time(9) <= local.time() < time(17)
        )
    on_the_day = Appointment.objects.filter(starts_at__date=date(2021, 3, 28)).values_list(
        "starts_at", flat=True
    )
    assert min(moment.astimezone(BERLIN).time() for moment in on_the_day) == time(9)


def test_changed_forecast_touches_only_unbooked_unreleased_appointments(centre, vaccines):
    """DESIGN invariant 4: re-planning never moves or deletes a booked or released appointment."""
    comirnaty = vaccines["comirnaty"]
    deliver(centre, comirnaty, START, 120)
    deliver(centre, comirnaty, START + timedelta(days=7), 120, Delivery.Status.CONFIRMED)
    plan()
    booked_ids = mark_booked(Appointment.objects.filter(vaccine=comirnaty, dose=1).order_by("starts_at")[:10])
    released = Appointment.objects.filter(vaccine=comirnaty, dose=1, booked=False).order_by("starts_at")[:6]
    released_ids = [a.id for a in released] + [a.second_id for a in released]
    Appointment.objects.filter(id__in=released_ids).update(bookable_from=datetime(2021, 4, 1, tzinfo=BERLIN))
    kept_before = {
        a.id: (a.starts_at, a.second_id) for a in Appointment.objects.filter(id__in=booked_ids + released_ids)
    }

    deliver(centre, comirnaty, START + timedelta(days=7), 300, Delivery.Status.CONFIRMED)  # more vaccine
    grown = plan()
    assert grown.created > 0
    deliver(centre, comirnaty, START + timedelta(days=7), 0, Delivery.Status.CANCELLED)  # then none
    cut = plan()
    assert cut.withdrawn > 0

    kept_after = {
        a.id: (a.starts_at, a.second_id) for a in Appointment.objects.filter(id__in=booked_ids + released_ids)
    }
    assert kept_after == kept_before
    assert_doses_never_run_short(centre, comirnaty)
    # What the cut withdrew was only ever unbooked and unreleased.
    assert Appointment.objects.filter(Q(booked=True) | Q(bookable_from__isnull=False)).count() == len(
        kept_before
    )


def test_cut_below_booked_doses_raises_shortfall_alert_listing_them(centre, vaccines):
    moderna = vaccines["moderna"]
    deliver(centre, moderna, START, 100, Delivery.Status.CONFIRMED)
    plan()
    booked_ids = mark_booked(Appointment.objects.filter(vaccine=moderna, dose=1))
    assert len(booked_ids) == 100

    deliver(centre, moderna, START, 40, Delivery.Status.CONFIRMED)  # the forecast is cut
    run = plan()

    alert = ShortfallAlert.objects.get(plan_run=run)
    assert (alert.centre, alert.vaccine, alert.doses_short) == (centre, moderna, 60)
    assert alert.resolved_at is None
    listed = set(alert.appointments.values_list("id", flat=True))
    assert listed and listed <= set(booked_ids)
    assert Appointment.objects.filter(id__in=booked_ids).count() == 100  # nothing deleted or moved
    assert not Appointment.objects.filter(booked=False).exists()  # and nothing new offered

    deliver(centre, moderna, START, 100, Delivery.Status.CONFIRMED)  # vaccine found again
    plan()
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_run_records_progress_and_a_weekly_report(centre, vaccines):
    deliver(centre, vaccines["comirnaty"], START, 120)
    run = plan()
    assert (run.progress_percent, run.state) == (100, PlanRun.State.DONE)
    (report,) = run.report["centres"]
    assert report["centre"] == "DD01"
    first_week = report["weeks"][0]
    assert first_week["week"] == "2021-W16"
    assert first_week["doses_in"] == 120
    assert first_week["first"] == 60
    assert first_week["capacity"] == 5 * 80 + 2 * 64
    shelf = report["shelf"]["comirnaty"]
    # 60 first doses on the delivery day; the other 60 wait on the shelf for the second doses,
    # since no later delivery can cover them, and leave it on the target day six weeks later.
    assert shelf[0] == 60 and shelf[41] == 60 and shelf[42] == 0


def test_a_run_that_ran_already_is_not_planned_again(centre, vaccines):
    """The demo plans a run synchronously before its task reaches the worker."""
    deliver(centre, vaccines["comirnaty"], START, 120)
    run = plan()
    again = plan_run_execute(run_id=run.pk, plan_from=START, plan_to=END)
    assert again.state == PlanRun.State.DONE and again.finished_at == run.finished_at
