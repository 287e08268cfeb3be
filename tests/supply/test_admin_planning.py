"""The planning admin: settings, plan runs and their report, shortfall alerts, appointments."""

import re
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from centres.models import Centre
from centres.services import centres_load
from supply.admin.appointments import EstimatedCountPaginator
from supply.models import Appointment, Delivery, PlanningSettings, PlanRun, ShortfallAlert, Vaccine
from supply.services.planning import plan_run_execute, plan_run_request
from tests.factories import CentreFactory

START = date(2021, 4, 19)  # a Monday
END = date(2021, 5, 2)  # two weeks


@pytest.fixture(autouse=True)
def planner_calls():
    """Overrides the supply conftest's fixture of this name, which replaces the planner task:
    here the real planner runs."""


@pytest.fixture
def comirnaty(db):
    return Vaccine.objects.get(code="comirnaty")


@pytest.fixture
def centre(db):
    return CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)


def deliver(centre, vaccine, day, doses, status=Delivery.Status.DELIVERED):
    Delivery.objects.update_or_create(
        centre=centre, vaccine=vaccine, date=day, defaults={"doses": doses, "status": status}
    )


def plan() -> PlanRun:
    run = plan_run_request(reason="Test")
    # Tasks run after commit, never inside a test's transaction: run it here, for a fixed window.
    return plan_run_execute(run_id=run.pk, plan_from=START, plan_to=END)


@pytest.fixture
def done_run(centre, comirnaty):
    deliver(centre, comirnaty, START - timedelta(days=1), 300)
    deliver(centre, comirnaty, START + timedelta(days=7), 120)
    return plan()


@pytest.fixture
def alert(done_run, centre, comirnaty):
    """An open shortfall: a delivery is cancelled after appointments it covered were booked."""
    firsts = list(Appointment.objects.filter(centre=centre, dose=1).order_by("starts_at")[:30])
    ids = [a.id for a in firsts] + [a.second_id for a in firsts if a.second_id]
    Appointment.objects.filter(id__in=ids).update(booked=True)  # as the booking app books pairs
    deliver(centre, comirnaty, START - timedelta(days=1), 300, Delivery.Status.CANCELLED)
    plan()
    return ShortfallAlert.objects.get(resolved_at__isnull=True)


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def section(page: str, anchor: str) -> str:
    """The report section of one centre."""
    start = page.index(f'<section class="plan-centre" id="{anchor}"')
    return page[start : page.index("</section>", start)]


# --- Settings -------------------------------------------------------------------------------


def test_settings_list_goes_straight_to_the_one_row(admin_client):
    response = admin_client.get(reverse("admin:supply_planningsettings_changelist"))

    options = PlanningSettings.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:supply_planningsettings_change", args=[options.pk])
    page = html(admin_client.get(response.url))
    assert "Planungshorizont" in page
    assert admin_client.get(reverse("admin:supply_planningsettings_add")).status_code == 403
    delete = reverse("admin:supply_planningsettings_delete", args=[options.pk])
    assert admin_client.get(delete).status_code == 403


def test_settings_can_be_changed(admin_client):
    options = PlanningSettings.load()
    url = reverse("admin:supply_planningsettings_change", args=[options.pk])

    response = admin_client.post(url, {"forecast_share_percent": 60, "horizon_days": 28})

    assert response.status_code == 302
    options.refresh_from_db()
    assert (options.forecast_share_percent, options.horizon_days) == (60, 28)


# --- Plan runs ------------------------------------------------------------------------------


def test_run_list_shows_runs_and_the_plan_button(admin_client, done_run):
    page = html(admin_client.get(reverse("admin:supply_planrun_changelist")))

    assert "Jetzt planen" in page
    assert f'action="{reverse("admin:supply_planrun_plan")}"' in page
    assert 'method="post"' in page
    assert "fertig" in page and "Test" in page
    assert "19.04.2021–02.05.2021" in page
    assert '<progress max="100" value="100"' in page


def test_runs_are_read_only(admin_client, done_run):
    assert admin_client.get(reverse("admin:supply_planrun_add")).status_code == 403
    delete = reverse("admin:supply_planrun_delete", args=[done_run.pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert PlanRun.objects.filter(pk=done_run.pk).exists()


def test_done_run_shows_its_report(admin_client, done_run, centre):
    page = html(admin_client.get(reverse("admin:supply_planrun_change", args=[done_run.pk])))

    assert 'http-equiv="refresh"' not in page
    assert "Zusammenfassung aller Impfzentren" in page
    assert 'href="#centre-DD01"' in page  # the table of contents
    weeks = done_run.report["centres"][0]["weeks"]
    assert [week["week"] for week in weeks] == ["2021-W16", "2021-W17"]
    dresden = section(page, "centre-DD01")
    assert "KW 16" in dresden and "19.04.–25.04." in dresden
    assert "KW 17" in dresden and "26.04.–02.05." in dresden
    for label in ("Woche", "Dosen geliefert", "Erstimpfungen", "Zweitimpfungen", "Restdosen (Vial)"):
        assert label in dresden
    assert "Auslastung" in dresden and "Begrenzt durch" in dresden
    first, used, capacity = weeks[0]["first"], weeks[0]["used"], weeks[0]["capacity"]
    row = re.search(r"KW 16.*?</tr>", dresden, re.S).group(0)
    assert f">{first}<" in row
    assert f">{round(100 * used / capacity)} %<" in row
    limit = {"stock": "Impfstoff", "capacity": "Kapazität", "vials": "Vials"}[weeks[0]["limit"]]
    assert f">{limit}<" in row
    # The shelf chart, inline: one line for the one vaccine delivered, with its summary.
    assert dresden.count("<svg") == 1 and 'role="img"' in dresden
    assert dresden.count("<polyline") == 1
    assert 'aria-label="Dosen im Lager, Impfzentrum Dresden: höchstens' in dresden
    assert "Ende Planungszeitraum" in dresden


@pytest.mark.parametrize("state", [PlanRun.State.QUEUED, PlanRun.State.RUNNING])
def test_pending_run_shows_progress_and_refreshes(admin_client, state):
    run = plan_run_request(reason="Test")
    PlanRun.objects.filter(pk=run.pk).update(
        state=state, progress_percent=38, progress_text="5/13: Impfzentrum Dresden"
    )

    page = html(admin_client.get(reverse("admin:supply_planrun_change", args=[run.pk])))

    assert '<meta http-equiv="refresh" content="3">' in page
    assert '<progress max="100" value="38"' in page
    assert "38 %" in page and "5/13: Impfzentrum Dresden" in page
    assert "<script" not in page.split("</head>")[1].split('id="footer"')[0]


def test_run_list_points_at_an_unfinished_run(admin_client):
    run = plan_run_request(reason="Upload KW 17")

    page = html(admin_client.get(reverse("admin:supply_planrun_changelist")))

    assert "Ein Planungslauf ist noch nicht fertig" in page
    assert reverse("admin:supply_planrun_change", args=[run.pk]) in page


def test_failed_run_shows_its_error(admin_client, centre, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Öffnungszeiten fehlen")

    monkeypatch.setattr("supply.services.planning._plan_centre", broken)
    run = plan_run_request(reason="Test")
    with pytest.raises(RuntimeError):
        plan_run_execute(run_id=run.pk, plan_from=START, plan_to=END)

    page = html(admin_client.get(reverse("admin:supply_planrun_change", args=[run.pk])))

    assert "fehlgeschlagen" in page
    assert "RuntimeError: Öffnungszeiten fehlen" in page
    assert "Erneut planen" in page
    assert 'http-equiv="refresh"' not in page


def test_plan_now_starts_a_run_and_the_planner_runs_it(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    centres_load()
    dresden = Centre.objects.get(code="DD01")
    comirnaty = Vaccine.objects.get(code="comirnaty")
    today = timezone.localdate()
    for offset, doses in ((-2, 180), (3, 120), (10, 60)):
        Delivery.objects.create(
            centre=dresden,
            vaccine=comirnaty,
            date=today + timedelta(days=offset),
            doses=doses,
            status=Delivery.Status.DELIVERED,
        )
    PlanningSettings.objects.update_or_create(pk=1, defaults={"horizon_days": 14})

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:supply_planrun_plan"))

    run = PlanRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:supply_planrun_change", args=[run.pk])
    assert (run.reason, run.requested_by) == ("Manuell gestartet", admin_user)
    assert run.state == PlanRun.State.DONE, run.error
    assert (run.plan_from, run.plan_to) == (today + timedelta(days=1), today + timedelta(days=14))
    assert run.created > 0
    assert Appointment.objects.filter(centre=dresden, vaccine=comirnaty).count() == run.created

    page = html(admin_client.get(response.url))
    assert "Der Planungslauf wurde gestartet." in page
    report = next(entry for entry in run.report["centres"] if entry["centre"] == "DD01")
    assert sum(week["doses_in"] for week in report["weeks"]) == 180
    dresden_section = section(page, "centre-DD01")
    for week in report["weeks"]:
        assert f"KW {int(week['week'][-2:])}" in dresden_section
    assert "<svg" in dresden_section and "Comirnaty (BioNTech/Pfizer)" in dresden_section
    assert page.count('<section class="plan-centre"') == 13


def test_plan_now_only_by_post(admin_client):
    assert admin_client.get(reverse("admin:supply_planrun_plan")).status_code == 405
    assert not PlanRun.objects.exists()


def test_plan_now_needs_the_add_permission(client, django_user_model, django_capture_on_commit_callbacks):
    viewer = django_user_model.objects.create_user("viewer", password="x" * 16, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_planrun"))
    client.force_login(viewer)

    page = html(client.get(reverse("admin:supply_planrun_changelist")))
    assert "Jetzt planen" not in page
    assert client.post(reverse("admin:supply_planrun_plan")).status_code == 403
    assert not PlanRun.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="add_planrun"))
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(reverse("admin:supply_planrun_plan")).status_code == 302
    assert PlanRun.objects.count() == 1


# --- Shortfall alerts -----------------------------------------------------------------------


def test_alert_list_counts_and_highlights_open_alerts(admin_client, alert):
    resolved = ShortfallAlert.objects.create(
        centre=alert.centre,
        vaccine=alert.vaccine,
        first_short_day=START,
        doses_short=5,
        plan_run=alert.plan_run,
        resolved_at=timezone.now(),
    )
    page = html(admin_client.get(reverse("admin:supply_shortfallalert_changelist")))

    assert "<title>Fehlmengen-Warnungen: 1 offen" in page
    rows = re.findall(r"<tr>.*?</tr>", page.split('id="result_list"')[1], re.S)[1:]
    assert len(rows) == 2
    # Open alerts first, marked in words (the badge) and colour (the row, by the badge's class).
    assert "plan-badge-bad" in rows[0] and ">offen<" in rows[0]
    assert reverse("admin:supply_shortfallalert_change", args=[alert.pk]) in rows[0]
    assert reverse("admin:supply_shortfallalert_change", args=[resolved.pk]) in rows[1]
    assert ">erledigt<" in rows[1] and "plan-badge-bad" not in rows[1]
    assert "tr:has(.plan-badge-bad)" in page
    assert "Impfzentrum Dresden" in rows[0] and "Comirnaty" in rows[0]


def test_the_admin_start_page_warns_of_open_alerts(admin_client, alert):
    page = html(admin_client.get(reverse("admin:index")))
    assert "1 offene Fehlmengen-Warnung</strong>" in page
    assert reverse("admin:supply_shortfallalert_changelist") + "?status=open" in page

    ShortfallAlert.objects.update(resolved_at=timezone.now())
    assert "offene Fehlmengen-Warnung" not in html(admin_client.get(reverse("admin:index")))


def test_alert_list_filters_open_and_resolved(admin_client, alert):
    url = reverse("admin:supply_shortfallalert_changelist")
    ShortfallAlert.objects.filter(pk=alert.pk).update(resolved_at=timezone.now())

    open_page = html(admin_client.get(url, {"status": "open"}))
    resolved_page = html(admin_client.get(url, {"status": "resolved"}))

    assert "Fehlmengen-Warnungen: 0 offen" in open_page
    change = reverse("admin:supply_shortfallalert_change", args=[alert.pk])
    assert change not in open_page
    assert change in resolved_page


def test_alert_page_explains_and_lists_the_affected_appointments(admin_client, alert):
    page = html(admin_client.get(reverse("admin:supply_shortfallalert_change", args=[alert.pk])))

    assert "Was bedeutet diese Warnung?" in page and "Was ist zu tun?" in page
    assert "kontaktieren" in page
    affected = list(alert.appointments.order_by("starts_at"))
    assert affected and all(a.booked for a in affected)
    assert f"Betroffene Termine: {len(affected)}, davon {len(affected)} gebucht" in page
    assert 'name="_save"' not in page  # read-only
    # Grouped by time: each row says when, which dose, released or not, booked or not, how many.
    table = page.split("Betroffene Termine:")[1].split("</table>")[0]
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>.*?<td>(.*?)</td>.*?<td class=\"num\">(\d+)</td>", table, re.S)
    times = sorted({timezone.localtime(a.starts_at) for a in affected})
    assert [when for when, _dose, _count in rows] == [f"Mo {t:%d.%m.%Y %H:%M}" for t in times]
    assert sum(int(count) for _when, _dose, count in rows) == len(affected)
    assert {dose for _when, dose, _count in rows} == {"erste"}
    assert "ja" in table
    # The link to all of them opens the appointment list filtered to this alert.
    listed = html(
        admin_client.get(
            reverse("admin:supply_appointment_changelist"), {"shortfall_alerts__id__exact": alert.pk}
        )
    )
    assert f"{len(affected)} Termine" in listed
    assert listed.count('<tr><th class="field-starts">') == len(affected)


def test_the_report_links_the_runs_alerts(admin_client, alert):
    page = html(admin_client.get(reverse("admin:supply_planrun_change", args=[alert.plan_run_id])))

    dresden = section(page, "centre-DD01")
    assert reverse("admin:supply_shortfallalert_change", args=[alert.pk]) in dresden
    assert f"{alert.doses_short} Dosen fehlen ab {alert.first_short_day:%d.%m.%Y}" in dresden


# --- Appointments ---------------------------------------------------------------------------


def unbounded_counts(queries) -> list[str]:
    """COUNT queries over the appointment table with no LIMIT inside: each reads every row."""
    return [
        query["sql"]
        for query in queries
        if "COUNT(" in query["sql"].upper()
        and '"supply_appointment"' in query["sql"]
        and "LIMIT" not in query["sql"].upper()
    ]


def test_appointment_list_never_counts_the_whole_table(admin_client, done_run, django_assert_max_num_queries):
    url = reverse("admin:supply_appointment_changelist")
    assert Appointment.objects.exists()

    for params in ({}, {"p": "2"}, {"dose": "2"}, {"booked__exact": "0"}, {"starts_at__year": "2021"}):
        with django_assert_max_num_queries(12) as queries:
            html(admin_client.get(url, params))
        assert unbounded_counts(queries.captured_queries) == [], params


def test_the_count_check_catches_the_stock_paginator(admin_client, done_run, monkeypatch):
    """Control: with Django's own paginator the check above fails."""
    with CaptureQueriesContext(connection) as queries:
        Appointment.objects.count()
    assert unbounded_counts(queries.captured_queries)

    monkeypatch.setattr(admin.site._registry[Appointment], "paginator", Paginator)
    with CaptureQueriesContext(connection) as queries:
        html(admin_client.get(reverse("admin:supply_appointment_changelist")))
    assert unbounded_counts(queries.captured_queries)


def test_appointment_list_is_read_only_and_filterable(admin_client, done_run):
    page = html(admin_client.get(reverse("admin:supply_appointment_changelist")))

    for title in ("Impfzentrum", "Impfstoff", "Impfung", "gebucht", "freigegeben"):
        assert title in page
    assert "starts_at__month=5&amp;starts_at__year=2021" in page  # the date hierarchy: months
    assert 'name="_selected_action"' not in page  # no actions, no checkboxes
    appointment = Appointment.objects.first()
    assert admin_client.get(reverse("admin:supply_appointment_add")).status_code == 403
    change = html(admin_client.get(reverse("admin:supply_appointment_change", args=[appointment.pk])))
    assert 'name="_save"' not in change
    delete = reverse("admin:supply_appointment_delete", args=[appointment.pk])
    assert admin_client.get(delete).status_code == 403


def test_large_lists_show_an_estimate(admin_client, done_run, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 5)
    page = html(admin_client.get(reverse("admin:supply_appointment_changelist")))
    assert "Termine (geschätzt)" in page

    paginator = EstimatedCountPaginator(Appointment.objects.order_by("pk"), 100)
    assert paginator.estimated is False  # nothing counted yet
    assert paginator.count >= 6 and paginator.estimated


def test_small_lists_count_exactly(done_run):
    appointments = Appointment.objects.filter(dose=1).order_by("starts_at")
    paginator = EstimatedCountPaginator(appointments, 100)
    assert paginator.count == appointments.count()
    assert not paginator.estimated


def test_appointment_dates_drill_down_without_reading_every_row(admin_client, done_run):
    """The date navigation: months of the one year with appointments, then days, then a day;
    never the admin's SELECT DISTINCT over all matching rows."""
    url = reverse("admin:supply_appointment_changelist")
    last = timezone.localtime(Appointment.objects.latest("starts_at").starts_at)

    with CaptureQueriesContext(connection) as queries:
        top = html(admin_client.get(url))
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"]]
    with translation.override("de"):
        assert "April 2021" in top and date_format(last, "YEAR_MONTH_FORMAT") in top
    assert "?starts_at__month=4&amp;starts_at__year=2021" in top

    month = html(admin_client.get(url, {"starts_at__year": "2021", "starts_at__month": "4"}))
    assert "?starts_at__day=30&amp;starts_at__month=4&amp;starts_at__year=2021" in month
    assert "?starts_at__year=2021" in month  # back to the year

    day = html(
        admin_client.get(url, {"starts_at__year": "2021", "starts_at__month": "4", "starts_at__day": "19"})
    )
    assert "19. April" in day
    first = timezone.localtime(Appointment.objects.earliest("starts_at").starts_at)
    assert f"Mo {first:%d.%m.%Y %H:%M}" in day
    assert "Di 20.04.2021" not in day  # filtered to the day

    year = html(admin_client.get(url, {"starts_at__year": "2021"}))
    assert "Januar 2021" in year and "Dezember 2021" in year


def test_plan_now_takes_an_optional_window(admin_client):
    url = reverse("admin:supply_planrun_plan")
    response = admin_client.post(url, {"plan_from": "2021-04-19", "plan_to": "2021-05-02"})
    run = PlanRun.objects.get()
    assert (run.plan_from, run.plan_to) == (date(2021, 4, 19), date(2021, 5, 2))
    assert response.status_code == 302


def test_plan_now_refuses_a_window_that_ends_before_it_starts(admin_client):
    url = reverse("admin:supply_planrun_plan")
    response = admin_client.post(url, {"plan_from": "2021-05-02", "plan_to": "2021-04-19"}, follow=True)
    assert not PlanRun.objects.exists()
    assert "Der letzte Tag liegt vor dem ersten." in response.content.decode()
