from datetime import date, timedelta

import pytest
from django.core.management import call_command

from centres.models import Centre
from impfportal.models import ApiClient, token_digest
from impfportal.services import demo_api_client_ensure, demo_appointments_plan, demo_data_load
from supply.models import Appointment, Delivery, DeliveryRevision, DeliveryUpload, PlanningSettings, PlanRun

TODAY = date(2026, 6, 3)  # a Wednesday
MONDAY = date(2026, 6, 1)
PLAN_DAYS = 14  # the configured horizon is 140 days; two weeks keep the tests fast


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("logistik", "logistik@example.org", None)


def deliveries():
    return {
        (centre, vaccine, day): (doses, status)
        for centre, vaccine, day, doses, status in Delivery.objects.values_list(
            "centre__code", "vaccine__code", "date", "doses", "status"
        )
    }


def stored():
    return {
        "deliveries": sorted(Delivery.objects.values_list("id", "doses", "status", "upload_id")),
        "uploads": DeliveryUpload.objects.count(),
        "revisions": DeliveryRevision.objects.count(),
        "plan_runs": PlanRun.objects.count(),
        "appointments": Appointment.objects.count(),
    }


@pytest.mark.django_db
def test_the_demo_has_free_first_doses_in_the_coming_weeks_at_every_centre(staff):
    demo_data_load(user=staff, today=TODAY)
    plan = demo_appointments_plan(today=TODAY, days=PLAN_DAYS)

    assert plan.run is not None and plan.run.state == PlanRun.State.DONE
    assert (plan.plan_from, plan.plan_to) == (TODAY + timedelta(days=1), TODAY + timedelta(days=PLAN_DAYS))
    for week in range(PLAN_DAYS // 7):
        free = Appointment.objects.filter(
            dose=1,
            booked=False,
            starts_at__date__gte=plan.plan_from + timedelta(weeks=week),
            starts_at__date__lt=plan.plan_from + timedelta(weeks=week + 1),
        )
        assert set(free.values_list("centre__code", flat=True).distinct()) == set(
            Centre.objects.filter(active=True).values_list("code", flat=True)
        )
    assert plan.appointments == Appointment.objects.count() > 0


@pytest.mark.django_db
def test_the_demo_deliveries_are_2021s_moved_onto_the_current_week_on(staff):
    demo_data_load(user=staff, today=TODAY)

    rows = deliveries()
    assert len({centre for centre, _vaccine, _day in rows}) == 13
    # The week of 03.05.2021 reached Saxony's centres as 2,400 astra (Mon), 9,600 johnson (Tue),
    # 26,400 moderna (Fri) and 87,750 comirnaty (Sat); the split keeps the totals and the weekdays.
    first_week = {}
    for (_centre, vaccine, day), (doses, _status) in rows.items():
        if day < MONDAY + timedelta(weeks=1):
            first_week[vaccine, day] = first_week.get((vaccine, day), 0) + doses
    assert first_week == {
        ("astra", MONDAY): 2400,
        ("johnson", MONDAY + timedelta(days=1)): 9600,
        ("moderna", MONDAY + timedelta(days=4)): 26400,
        ("comirnaty", MONDAY + timedelta(days=5)): 87750,
    }
    assert min(day for _centre, _vaccine, day in rows) == MONDAY
    assert (
        MONDAY + timedelta(weeks=11)
        <= max(day for _centre, _vaccine, day in rows)
        < MONDAY + timedelta(weeks=12)
    )
    for (_centre, _vaccine, day), (_doses, status) in rows.items():
        if day <= TODAY:
            assert status == Delivery.Status.DELIVERED
        elif day <= TODAY + timedelta(days=14):
            assert status == Delivery.Status.CONFIRMED
        else:
            assert status == Delivery.Status.FORECAST
    upload = DeliveryUpload.objects.get()
    assert (upload.state, upload.uploaded_by) == (DeliveryUpload.State.APPLIED, staff)
    assert DeliveryRevision.objects.count() == len(rows)


@pytest.mark.django_db
def test_loading_the_demo_again_the_same_day_changes_nothing(staff):
    demo_data_load(user=staff, today=TODAY)
    demo_appointments_plan(today=TODAY, days=PLAN_DAYS)
    before = stored()

    result = demo_data_load(user=staff, today=TODAY)
    plan = demo_appointments_plan(today=TODAY, days=PLAN_DAYS)

    assert stored() == before
    assert result["deliveries"].created == result["deliveries"].changed == 0
    assert plan.run is None
    assert plan.appointments == before["appointments"]


@pytest.mark.django_db
def test_a_later_day_adds_the_new_weeks_and_moves_statuses_on(staff):
    demo_data_load(user=staff, today=TODAY)
    demo_appointments_plan(today=TODAY, days=PLAN_DAYS)
    earlier = deliveries()
    last_day = max(day for _centre, _vaccine, day in earlier)

    later = TODAY + timedelta(days=9)  # Friday of the next week
    result = demo_data_load(user=staff, today=later)
    plan = demo_appointments_plan(today=later, days=PLAN_DAYS)

    now = deliveries()
    added = {key: value for key, value in now.items() if key not in earlier}
    assert result["deliveries"].created == len(added) > 0
    assert result["deliveries"].withdrawn == 0
    # The new rows are one more week, at the end; the earlier ones keep their doses.
    assert {_monday(day) for _centre, _vaccine, day in added} == {MONDAY + timedelta(weeks=12)}
    assert all(day > last_day for _centre, _vaccine, day in added)
    assert {key: doses for key, (doses, _status) in earlier.items()} == {
        key: doses for key, (doses, _status) in now.items() if key in earlier
    }
    for (_centre, _vaccine, day), (_doses, status) in now.items():
        if TODAY < day <= later:
            assert status == Delivery.Status.DELIVERED
    assert plan.run is not None and plan.plan_from == later + timedelta(days=1)
    assert Appointment.objects.filter(dose=1, booked=False, starts_at__date__gte=plan.plan_from).exists()

    before = stored()
    demo_data_load(user=staff, today=later)
    assert demo_appointments_plan(today=later, days=PLAN_DAYS).run is None
    assert stored() == before


def _monday(day):
    return day - timedelta(days=day.weekday())


@pytest.mark.django_db
def test_demo_setup_twice_keeps_data_and_the_printed_login_works(client, settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path  # the password file goes to tmp_path/var/
    PlanningSettings.objects.update_or_create(pk=1, defaults={"horizon_days": 7})  # fast
    call_command("demo", "--no-serve")
    planned = Appointment.objects.count()
    call_command("demo", "--no-serve")
    assert Centre.objects.count() == 13
    assert Appointment.objects.count() == planned > 0
    assert "up to date" in capsys.readouterr().out
    password = (tmp_path / "var" / "demo-admin-password.txt").read_text().strip()
    assert client.login(username="admin", password=password)
    assert client.get("/admin/centres/centre/").status_code == 200
    # The demo's hotline API token is the same after the second start, and it works.
    token = (tmp_path / "var" / "demo-api-token.txt").read_text().strip()
    assert ApiClient.objects.filter(revoked_at__isnull=True).count() == 1
    api = client.get("/api/v1/centres", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AGENT_ID="demo")
    assert api.status_code == 200 and api.json()["count"] == 13


@pytest.mark.django_db
def test_a_lost_demo_api_token_is_replaced_and_the_old_one_revoked(tmp_path):
    token_file = tmp_path / "token.txt"
    old = demo_api_client_ensure(token_file=token_file)
    assert demo_api_client_ensure(token_file=token_file) == old
    token_file.unlink()
    new = demo_api_client_ensure(token_file=token_file)
    assert new != old and token_file.read_text().strip() == new
    assert ApiClient.objects.get(token_hash=token_digest(old)).revoked_at is not None
    assert ApiClient.objects.get(token_hash=token_digest(new)).name == "Demo-Call-Center"
